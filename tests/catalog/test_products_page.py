"""The products page (issue 12 §1): a seller adds, finds, edits, assigns and deletes products
through the page, and what they wrote reaches the conversation sidebar (R-02, R-21, R-46)."""

from __future__ import annotations

import pytest

from kefu.accounts.models import User
from kefu.catalog.models import Product
from kefu.orders.models import OrderItem
from tests.conftest import login_client
from tests.helpers import buyer_says, online, post_order_signed

pytestmark = pytest.mark.django_db

LAMP = {
    "external_id": "1005001",
    "sku": "LAMP-W",
    "title": "Aurora desk lamp, warm white",
    "price": "24.90",
    "currency": "usd",
    "stock": "40",
    "url": "https://shop.example/lamp",
    "image_url": "https://img.example/lamp.jpg",
    "free_shipping": "on",
    "excluded_regions": "Hawaii\nAlaska\n\nHawaii",
    "usage_cycle_days": "",
    "shelf_life": "Bulb rated for 25,000 hours",
    "suits": "Desks and bedside tables",
    "ships_from": "Shenzhen",
    "dispatch_time": "within 48 hours",
    "differences": "Dimmable, unlike the basic model",
}


def en_client(user):
    """A signed-in client reading the English UI (the default is zh-Hans)."""
    client = login_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _add(client, **changes):
    return client.post("/products/new", {**LAMP, **changes})


def test_the_owner_adds_a_product_with_every_field_and_finds_it(owner, pre_agent):
    client = en_client(owner)
    bulb = _add(client, external_id="2002", sku="BULB", title="Spare bulb", excluded_regions="")
    assert bulb.status_code == 302
    response = _add(client, owner=str(pre_agent.pk), is_main_push="on", add_related="Spare bulb")
    assert response.status_code == 302, response.content.decode()[:2000]

    lamp = Product.objects.get(external_id="1005001")
    assert (lamp.sku, lamp.owner, lamp.is_main_push, lamp.currency) == (
        "LAMP-W",
        pre_agent,
        True,
        "USD",
    )
    assert str(lamp.price) == "24.90" and lamp.stock == 40
    assert lamp.free_shipping_excluded_regions == ["Hawaii", "Alaska"]
    assert lamp.dispatch_time == "within 48 hours"
    assert [p.external_id for p in lamp.related.all()] == ["2002"]
    # Related both ways: the bulb's chats suggest the lamp too.
    assert [p.external_id for p in Product.objects.get(external_id="2002").related.all()] == [
        "1005001"
    ]

    client.get("/products/")  # reads the "saved" notices
    # Found by SKU, by owner and by "no owner".
    page = client.get("/products/?q=lamp-w").content.decode()
    assert "Aurora desk lamp" in page and "Spare bulb" not in page
    page = client.get("/products/?owner=lily").content.decode()
    assert "Aurora desk lamp" in page and "Spare bulb" not in page
    page = client.get("/products/?owner=none").content.decode()
    assert "Spare bulb" in page and "Aurora desk lamp" not in page
    page = client.get("/products/?main_push=1").content.decode()
    assert "Aurora desk lamp" in page and "Spare bulb" not in page
    assert 'href="/products/import/"' in page


def test_a_form_with_bad_values_names_each_problem_and_stores_nothing(owner, product):
    client = en_client(owner)
    response = _add(
        client,
        external_id="P-100",  # the fixture's product has it
        price="12,5,0",
        url="javascript:alert(1)",
        stock="many",
        usage_cycle_days="0",
        add_related="no such thing",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Stock must be a whole number." in page
    assert "No product matches “no such thing”." in page
    assert Product.objects.count() == 1

    response = _add(client, external_id="P-200", price="12,5", url="javascript:alert(1)")
    page = response.content.decode()
    assert response.status_code == 400
    assert "The price must be a number such as 19.90." in page
    assert "The web link must be an http:// or https:// address." in page
    response = _add(client, external_id="P-100")
    assert "Another product already has the external id P-100." in response.content.decode()
    response = _add(client, external_id="P-300", usage_cycle_days="0")
    assert "The usage cycle is 1 to 3650 days, or empty." in response.content.decode()
    assert Product.objects.count() == 1


def test_a_refusal_reads_in_chinese_for_a_chinese_interface(owner):
    client = login_client(owner)  # zh-Hans is the interface's default
    response = _add(client, price="abc")
    assert response.status_code == 400
    assert "价格须为数字" in response.content.decode()


def test_a_sub_account_reads_the_catalogue_and_changes_it_only_when_granted(
    owner, pre_agent, product
):
    client = en_client(pre_agent)
    page = client.get("/products/")
    assert page.status_code == 200 and "Desk lamp" in page.content.decode()
    assert "/products/new" not in page.content.decode()
    assert _add(client).status_code == 403
    assert client.post(f"/products/{product.pk}/delete").status_code == 403
    assert Product.objects.count() == 1

    User.objects.filter(pk=pre_agent.pk).update(can_manage_settings=True)
    assert _add(client).status_code == 302
    assert Product.objects.count() == 2


def test_editing_keeps_what_was_not_changed_and_refuses_relating_a_product_to_itself(
    owner, product
):
    client = en_client(owner)
    form = client.get(f"/products/{product.pk}/edit").content.decode()
    assert 'value="P-100"' in form and 'value="50"' in form
    response = client.post(
        f"/products/{product.pk}/edit",
        {"external_id": "P-100", "title": "Desk lamp", "stock": "7", "add_related": "P-100"},
    )
    assert response.status_code == 400
    assert "A product cannot be related to itself." in response.content.decode()
    product.refresh_from_db()
    assert product.stock == 50

    response = client.post(
        f"/products/{product.pk}/edit",
        {"external_id": "P-100", "title": "Desk lamp", "stock": "7", "shelf_life": "2 years"},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    # Unticked boxes are unticked: the form sends every field.
    assert (product.stock, product.shelf_life, product.owner, product.free_shipping) == (
        7,
        "2 years",
        None,
        False,
    )


def test_bulk_owner_and_main_push_from_the_list(owner, pre_agent, after_agent, product):
    client = en_client(owner)
    _add(client)
    lamp = Product.objects.get(external_id="1005001")
    ids = [product.pk, lamp.pk]
    response = client.post(
        "/products/bulk",
        {"product": ids, "action": "owner", "owner": str(after_agent.pk), "back": "q=lamp"},
    )
    assert response.status_code == 302 and response["Location"] == "/products/?q=lamp"
    assert set(Product.objects.values_list("owner__username", flat=True)) == {"max"}
    client.post("/products/bulk", {"product": ids, "action": "main_push"})
    assert Product.objects.filter(is_main_push=True).count() == 2
    client.post("/products/bulk", {"product": [lamp.pk], "action": "not_main_push"})
    assert list(Product.objects.filter(is_main_push=True)) == [product]
    # The main account owns no products: only a sub-account may.
    client.post("/products/bulk", {"product": ids, "action": "owner", "owner": str(owner.pk)})
    assert set(Product.objects.values_list("owner__username", flat=True)) == {"max"}
    client.post("/products/bulk", {"product": ids, "action": "owner", "owner": ""})
    assert set(Product.objects.values_list("owner", flat=True)) == {None}


def test_another_shops_product_in_a_bulk_change_changes_nothing(owner, rival, product):
    theirs = en_client(rival)
    theirs.post("/products/new", {**LAMP})
    mine = Product.objects.get(shop=rival.shop)
    response = en_client(owner).post(
        "/products/bulk", {"product": [product.pk, mine.pk], "action": "main_push"}
    )
    assert response.status_code == 404
    assert not Product.objects.filter(is_main_push=True).exists()


def test_deleting_a_product_keeps_its_order_items_titles(owner, product, shop):
    order = {
        "external_id": "9001",
        "buyer": {"external_id": "b-7", "name": "Olga"},
        "status": "paid",
        "currency": "USD",
        "total_amount": "25.00",
        "paid_amount": "25.00",
        "placed_at": "2026-11-01T10:00:00+08:00",
        "items": [{"title": "Desk lamp", "product_external_id": "P-100", "unit_price": "25.00"}],
    }
    assert post_order_signed("/inbound", order, shop).status_code == 201
    assert OrderItem.objects.get().product == product
    client = en_client(owner)
    page = client.get(f"/products/{product.pk}/edit").content.decode()
    assert "data-confirm=" in page
    assert client.post(f"/products/{product.pk}/delete").status_code == 302
    item = OrderItem.objects.get()
    assert (item.title, item.product, item.product_external_id) == ("Desk lamp", None, "P-100")
    assert not Product.objects.exists()


def test_the_sidebar_shows_the_facts_the_seller_wrote(owner, pre_agent, product, shop):
    client = en_client(owner)
    client.post(
        f"/products/{product.pk}/edit",
        {
            "external_id": "P-100",
            "title": "Desk lamp",
            "owner": str(pre_agent.pk),
            "shelf_life": "Bulb rated for 25,000 hours",
            "ships_from": "Shenzhen",
        },
    )
    online(pre_agent)
    conv = buyer_says(shop, "How long does the bulb last?", product="P-100").conversation
    panel = en_client(pre_agent).get(f"/orders/sidebar/{conv.buyer_id}/?conversation={conv.pk}")
    html = panel.content.decode()
    assert panel.status_code == 200
    assert "Bulb rated for 25,000 hours" in html and "Shenzhen" in html
    assert "Shelf life" in html and "Ships from" in html
    # A fact left empty is not shown as an empty row.
    assert "Who it suits" not in html


def test_orders_imported_before_the_product_link_to_it_once_it_is_added(owner, pre_agent, shop):
    order = {
        "external_id": "9002",
        "buyer": {"external_id": "b-8", "name": "Olga"},
        "status": "paid",
        "currency": "USD",
        "total_amount": "25.00",
        "paid_amount": "25.00",
        "placed_at": "2026-11-01T10:00:00+08:00",
        "items": [{"title": "Aurora desk lamp, warm white", "unit_price": "25.00"}],
    }
    assert post_order_signed("/inbound", order, shop).status_code == 201
    assert OrderItem.objects.get().product is None
    en_client(owner).post("/products/new", {**LAMP, "owner": str(pre_agent.pk)})
    # Linked by the exact title, so Lily now sees the order beside her chats.
    assert OrderItem.objects.get().product == Product.objects.get(external_id="1005001")
    assert en_client(pre_agent).get("/api/v1/orders").json()[0]["external_id"] == "9002"
