"""In the browser: an order export with a column Kefu does not know is mapped on the result
page, its rows import, and the next upload of that layout imports without a question; the
same on the product and review pages. No page names a command-line flag."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kefu.care.models import Review
from kefu.catalog.models import Product
from kefu.orders.models import Order
from tests.browser.support import aurora_with_agent, in_thread, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "Order ID,Kunde,Order Amount,Order Status\n"


def _file(name: str, text: str) -> dict[str, object]:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


@pytest.fixture
def shop(transactional_db):
    return aurora_with_agent(login="lily", group="pre_sale", display_name="Lily")[0]


def test_orders_mapped_on_the_page_then_imported_without_a_question(shop, live_asgi, browser):
    page = signed_in_page(browser, live_asgi, "owner")
    page.goto(f"{live_asgi}/orders/import/")
    first = _file("orders.csv", HEADER + 'B-1,anna,"15,34 €",Awaiting shipment\n')
    page.set_input_files("form.import-form input[name=file]", first)
    page.locator("form.import-form button.primary").click()

    mapping = page.locator("#column-mapping")
    expect(mapping).to_be_visible()
    expect(page.locator("#import-progress")).to_contain_text("no column for the buyer")
    expect(page.locator("body")).not_to_contain_text("--map")
    expect(mapping.locator('select[aria-label="Order ID"]')).to_have_value("external_id")
    mapping.locator('select[aria-label="Kunde"]').select_option("buyer_external_id")
    mapping.locator("input[name=file]").set_input_files(first)
    mapping.get_by_role("button", name="Import with this mapping").click()

    expect(page.locator("#import-progress")).to_contain_text("created 1")
    order = in_thread(lambda: Order.objects.select_related("buyer").get(external_id="B-1"))
    assert (order.buyer.external_id, order.total_amount) == ("anna", Decimal("15.34"))

    # Next time: no mapping asked, the rows import; the page shows what it remembers.
    page.goto(f"{live_asgi}/orders/import/")
    expect(page.locator("#remembered-mapping")).to_contain_text(re.compile("Kunde → Buyer account"))
    page.set_input_files(
        "form.import-form input[name=file]",
        _file("orders-2.csv", HEADER + "B-2,boris,20.00,Finished\n"),
    )
    page.locator("form.import-form button.primary").click()
    expect(page.locator("#import-progress")).to_contain_text("created 1")
    expect(page.locator("#column-mapping")).to_have_count(0)
    assert in_thread(lambda: Order.objects.get(external_id="B-2").buyer.external_id) == "boris"

    # Cleared on the page.
    page.get_by_role("button", name="Forget this mapping").click()
    expect(page.locator("#remembered-mapping")).to_have_count(0)


def test_products_mapped_on_the_page(shop, live_asgi, browser):
    page = signed_in_page(browser, live_asgi, "owner")
    page.goto(f"{live_asgi}/products/import/")
    upload = _file("artikel.csv", 'Artikel,Product ID,Preis\nLampe,P-1,"15,34 €"\n')
    page.set_input_files("form.import-form input[name=file]", upload)
    page.locator("form.import-form button.primary").click()

    mapping = page.locator("#column-mapping")
    expect(mapping).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("--map")
    mapping.locator('select[aria-label="Artikel"]').select_option("title")
    mapping.locator('select[aria-label="Preis"]').select_option("price")
    mapping.locator("input[name=file]").set_input_files(upload)
    mapping.get_by_role("button", name="Import with this mapping").click()

    expect(page.locator("#product-import-result")).to_contain_text("created 1")
    product = in_thread(lambda: Product.objects.get(external_id="P-1"))
    assert (product.title, product.price, product.currency) == ("Lampe", Decimal("15.34"), "EUR")


def test_reviews_mapped_on_the_page_then_imported_without_a_question(shop, live_asgi, browser):
    header = "Bewertung Nr,Bestellung,Sterne,Kommentar,Datum\n"
    page = signed_in_page(browser, live_asgi, "owner")
    page.goto(f"{live_asgi}/care/reviews/import/")
    first = _file("bewertungen.csv", header + "R-1,DE-1,1,kaputt,2026-11-25 10:00\n")
    page.set_input_files("form.import-form input[name=file]", first)
    page.locator("form.import-form button.primary").click()

    mapping = page.locator("#column-mapping")
    expect(mapping).to_be_visible()
    expect(page.locator("body")).to_contain_text("no review time column")
    expect(page.locator("body")).not_to_contain_text("--map")
    for column, field in (
        ("Bewertung Nr", "external_id"),
        ("Bestellung", "order_external_id"),
        ("Sterne", "rating"),
        ("Kommentar", "text"),
        ("Datum", "posted_at"),
    ):
        mapping.locator(f'select[aria-label="{column}"]').select_option(field)
    mapping.locator("input[name=file]").set_input_files(first)
    mapping.get_by_role("button", name="Import with this mapping").click()

    expect(page.locator("#review-import-result")).to_contain_text("created 1")
    expect(page.locator("#review-import-result")).to_contain_text("review tasks 1")
    review = in_thread(lambda: Review.objects.get(external_id="R-1"))
    assert (review.rating, review.level, review.text) == (1, "negative", "kaputt")

    # The next export of that layout: no question; the page shows what it remembers.
    page.goto(f"{live_asgi}/care/reviews/import/")
    expect(page.locator("#remembered-mapping")).to_contain_text("Datum → Review time")
    page.set_input_files(
        "form.import-form input[name=file]",
        _file("bewertungen-2.csv", header + "R-2,DE-2,5,super,2026-11-26 09:00\n"),
    )
    page.locator("form.import-form button.primary").click()
    expect(page.locator("#review-import-result")).to_contain_text("created 1")
    expect(page.locator("#column-mapping")).to_have_count(0)
    assert in_thread(lambda: Review.objects.get(external_id="R-2").level) == "positive"

    page.get_by_role("button", name="Forget this mapping").click()
    expect(page.locator("#remembered-mapping")).to_have_count(0)
