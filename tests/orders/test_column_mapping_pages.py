"""The upload pages let the seller map the columns Kefu does not recognise in the browser
(never by naming a command-line flag); the mapping is remembered per shop and import kind,
applied to the next upload, shown on the page and cleared there."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kefu.catalog.models import ColumnMapping, Product
from kefu.orders.models import ImportRun, Order
from tests.conftest import login_client

pytestmark = pytest.mark.django_db

ORDER_HEADERS = ["Order ID", "Kunde", "Order Amount", "Order Status", "Bemerkung"]


def _orders_csv(*rows: str) -> SimpleUploadedFile:
    text = ",".join(ORDER_HEADERS) + "\n" + "\n".join(rows) + "\n"
    return SimpleUploadedFile("bestellungen.csv", text.encode(), content_type="text/csv")


def _en(user):
    client = login_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _upload_orders(client, capture, upload, **form):
    with capture(execute=True):
        response = client.post("/orders/import/", {"file": upload, **form})
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportRun.objects.order_by("-pk").first(), response.url


def test_orders_map_an_unknown_column_on_the_page_then_the_next_upload_needs_no_mapping(
    shop, owner, django_capture_on_commit_callbacks
):
    client = _en(owner)
    capture = django_capture_on_commit_callbacks

    # 1. No column Kefu reads as the buyer: the run fails and the page offers the mapping.
    run, url = _upload_orders(
        client, capture, _orders_csv('B-1,anna,"15,34 €",Awaiting shipment,x')
    )
    assert run.status == "failed"
    assert run.headers == ORDER_HEADERS
    page = client.get(url).content.decode()
    assert "no column for the buyer" in page
    assert 'id="column-mapping"' in page
    assert '<input type="hidden" name="header" value="Kunde">' in page
    assert '<option value="buyer_external_id">' in page
    assert "--map" not in page
    assert not Order.objects.filter(shop=shop).exists()

    # 2. The seller picks the field for "Kunde" and imports the same file again.
    fields = ["external_id", "buyer_external_id", "total_amount", "status", "-"]
    run, url = _upload_orders(
        client,
        capture,
        _orders_csv('B-1,anna,"15,34 €",Awaiting shipment,x'),
        header=ORDER_HEADERS,
        field=fields,
    )
    assert (run.status, run.created, run.rejected) == ("done", 1, 0), run.error
    order = Order.objects.get(shop=shop, external_id="B-1")
    assert (order.buyer.external_id, order.total_amount, order.currency) == (
        "anna",
        Decimal("15.34"),
        "EUR",
    )
    # Only the seller's decisions are remembered, not what Kefu recognises by itself.
    remembered = ColumnMapping.objects.get(shop=shop, kind="orders").mapping
    assert remembered == {"Kunde": "buyer_external_id", "Bemerkung": "-"}
    assert 'id="column-mapping"' not in client.get(url).content.decode()

    # 3. Next time the file imports without a mapping.
    run, _ = _upload_orders(client, capture, _orders_csv("B-2,boris,20.00,Finished,y"))
    assert (run.status, run.created) == ("done", 1), run.error
    assert Order.objects.get(shop=shop, external_id="B-2").buyer.external_id == "boris"

    # 4. The page shows the remembered mapping, and the seller can clear it.
    page = client.get("/orders/import/").content.decode()
    assert "Kunde → Buyer account" in page
    assert client.post("/orders/import/", {"action": "forget"}).status_code == 302
    assert not ColumnMapping.objects.filter(shop=shop, kind="orders").exists()
    run, _ = _upload_orders(client, capture, _orders_csv("B-3,cyril,5.00,Finished,z"))
    assert run.status == "failed"


def test_orders_mapping_with_a_field_kefu_does_not_have_is_refused(
    shop, owner, django_capture_on_commit_callbacks
):
    client = _en(owner)
    response = client.post(
        "/orders/import/",
        {"file": _orders_csv("B-1,anna,1.00,Finished,x"), "header": ["Kunde"], "field": ["x"]},
        follow=True,
    )
    assert "x is not a field Kefu imports" in response.content.decode()
    assert not ImportRun.objects.exists()
    assert not ColumnMapping.objects.exists()


def test_a_sub_account_without_the_right_cannot_clear_the_mapping(shop, owner, pre_agent):
    assert login_client(pre_agent).post("/orders/import/", {"action": "forget"}).status_code == 403
    assert (
        login_client(pre_agent).post("/products/import/", {"action": "forget"}).status_code == 403
    )


def _products_csv(*rows: str) -> SimpleUploadedFile:
    text = "Artikel,Artikelnummer,Preis\n" + "\n".join(rows) + "\n"
    return SimpleUploadedFile("artikel.csv", text.encode(), content_type="text/csv")


def test_products_map_unknown_columns_on_the_page_then_the_next_upload_needs_no_mapping(
    shop, owner
):
    client = _en(owner)
    # 1. No title and no product id column: refused whole, the page offers the mapping.
    response = client.post("/products/import/", {"file": _products_csv('Lampe,P-1,"15,34 €"')})
    assert response.status_code == 400
    page = response.content.decode()
    assert "no title column" in page
    assert '<input type="hidden" name="header" value="Artikel">' in page
    assert '<option value="title">' in page
    assert "--map" not in page
    assert not Product.objects.filter(shop=shop).exists()

    # 2. Mapped on the page: the rows import ("15,34 €" is 15.34 EUR, never 1534).
    response = client.post(
        "/products/import/",
        {
            "file": _products_csv('Lampe,P-1,"15,34 €"'),
            "header": ["Artikel", "Artikelnummer", "Preis"],
            "field": ["title", "external_id", "price"],
        },
    )
    assert response.status_code == 200, response.content.decode()[:500]
    product = Product.objects.get(shop=shop, external_id="P-1")
    assert (product.title, product.price, product.currency) == ("Lampe", Decimal("15.34"), "EUR")
    remembered = ColumnMapping.objects.get(shop=shop, kind="products").mapping
    assert remembered == {"Artikel": "title", "Artikelnummer": "external_id", "Preis": "price"}
    assert 'id="column-mapping"' not in response.content.decode()

    # 3. The next upload of that layout imports without a mapping; orders keep theirs apart.
    response = client.post("/products/import/", {"file": _products_csv("Birne,P-2,3.50")})
    assert response.status_code == 200
    assert Product.objects.get(shop=shop, external_id="P-2").title == "Birne"
    assert not ColumnMapping.objects.filter(shop=shop, kind="orders").exists()

    # 4. Shown and cleared on the page.
    assert "Artikel → Title" in client.get("/products/import/").content.decode()
    assert client.post("/products/import/", {"action": "forget"}).status_code == 302
    assert client.post("/products/import/", {"file": _products_csv("X,P-3,1")}).status_code == 400


def test_a_product_file_whose_every_row_is_refused_does_not_say_rows_were_stored(shop, owner):
    client = _en(owner)
    upload = SimpleUploadedFile("p.csv", b"Title,Product ID,Price\nLamp,P-1,12.3.4\n")
    page = client.post("/products/import/", {"file": upload}).content.decode()
    assert "nothing imported" in page
    assert "Every row was rejected, so nothing was stored." in page
    assert "the other rows were stored" not in page
    assert "Price: &#x27;12.3.4&#x27; is not an amount" in page


def test_an_order_run_that_stored_nothing_never_reads_as_done(
    shop, owner, django_capture_on_commit_callbacks
):
    client = _en(owner)
    run, url = _upload_orders(
        client,
        django_capture_on_commit_callbacks,
        SimpleUploadedFile("o.csv", b"Order ID,Buyer Name,Order Amount\nB-1,Ann,12.3.4\n"),
    )
    assert (run.status, run.rows, run.rejected) == ("done", 1, 1)
    page = client.get(url).content.decode()
    assert "nothing imported" in page
    assert "the other rows were stored" not in page
    recent = page[page.index('id="recent-imports"') :]
    assert "nothing imported" in recent and "Done" not in recent


def test_orders_a_remembered_choice_can_be_set_back_to_what_kefu_reads_by_itself(
    shop, owner, django_capture_on_commit_callbacks
):
    client = _en(owner)
    capture = django_capture_on_commit_callbacks
    ignoring_status = ["external_id", "buyer_external_id", "total_amount", "-", "-"]
    run, _ = _upload_orders(
        client,
        capture,
        _orders_csv("B-1,anna,15.00,Finished,x"),
        header=ORDER_HEADERS,
        field=ignoring_status,
    )
    assert run.status == "done", run.error
    assert ColumnMapping.objects.get(shop=shop, kind="orders").mapping["Order Status"] == "-"

    # The seller reads the status column again: the choice is kept and used.
    reading_status = ["external_id", "buyer_external_id", "total_amount", "status", "-"]
    run, _ = _upload_orders(
        client,
        capture,
        _orders_csv("B-2,boris,20.00,Finished,y"),
        header=ORDER_HEADERS,
        field=reading_status,
    )
    assert run.status == "done", run.error
    assert ColumnMapping.objects.get(shop=shop, kind="orders").mapping["Order Status"] == "status"
    assert run.mapping["Order Status"] == "status"


def test_the_terminal_import_reads_a_layout_as_the_page_mapped_it(
    shop, owner, django_capture_on_commit_callbacks, tmp_path, capsys, monkeypatch
):
    """A seller who mapped a layout on the upload page and then schedules `kefu import` for
    the same files gets the same reading, without repeating the mapping as --map."""
    from kefu.cli import main
    from kefu.orders import cli as orders_cli

    client = _en(owner)
    # The page: one order file and one product file mapped, the choices remembered.
    _upload_orders(
        client,
        django_capture_on_commit_callbacks,
        _orders_csv("B-1,anna,15.00,Awaiting shipment,x"),
        header=ORDER_HEADERS,
        field=["external_id", "buyer_external_id", "total_amount", "status", "-"],
    )
    client.post(
        "/products/import/",
        {
            "file": _products_csv("Lampe,P-1,15.00"),
            "header": ["Artikel", "Artikelnummer", "Preis"],
            "field": ["title", "external_id", "price"],
        },
    )
    orders_file = tmp_path / "bestellungen.csv"
    orders_file.write_text(",".join(ORDER_HEADERS) + "\nB-2,berta,9.50,Shipped,y\n")
    products_file = tmp_path / "artikel.csv"
    products_file.write_text("Artikel,Artikelnummer,Preis\nBirne,P-2,3.50\n")

    monkeypatch.setattr(orders_cli, "import_subparsers", None)
    assert main(["import", "orders", str(orders_file), "--shop", "aurora", "--quiet"]) == 0
    monkeypatch.setattr(orders_cli, "import_subparsers", None)
    assert main(["import", "products", str(products_file), "--shop", "aurora", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "applying the shop's remembered column mapping (2 columns" in err
    assert "applying the shop's remembered column mapping (3 columns" in err
    order = Order.objects.get(shop=shop, external_id="B-2")
    assert (order.buyer.external_id, order.total_amount) == ("berta", Decimal("9.50"))
    assert Product.objects.get(shop=shop, external_id="P-2").title == "Birne"

    # --no-remembered reads the file as Kefu does by itself: no buyer column, refused whole.
    monkeypatch.setattr(orders_cli, "import_subparsers", None)
    orders_file.write_text(",".join(ORDER_HEADERS) + "\nB-3,carla,1.00,Shipped,z\n")
    code = main(
        ["import", "orders", str(orders_file), "--shop", "aurora", "--quiet", "--no-remembered"]
    )
    assert code == 2
    assert "no column for the buyer" in capsys.readouterr().err
    assert not Order.objects.filter(shop=shop, external_id="B-3").exists()
