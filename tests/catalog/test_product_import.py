"""Products into a fresh shop the seller's way: `kefu shop create`, agents by CLI, a Taobao
product file (GBK, 负责客服 column), an order export; the product's sub-account then sees the
order. Also the AliExpress list, JSONL, the upload page, bad files and the product webhook."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from openpyxl import Workbook

from bench.taobao_files import PRODUCT_HEADERS as TAOBAO_PRODUCT_HEADERS
from bench.taobao_files import write_gbk_csv
from kefu.accounts.models import Shop, User
from kefu.catalog.models import Product
from kefu.cli import main
from kefu.integrations.signing import signed_headers
from kefu.orders import cli as orders_cli
from kefu.orders.models import Order, OrderItem
from tests.conftest import login_client

pytestmark = pytest.mark.django_db

PRODUCT_HEADERS = [*TAOBAO_PRODUCT_HEADERS, "保质期"]
PRODUCTS = [
    ["玫瑰保湿面霜 50ml", "50010815", "129.00", "40", "卖家承担",
     "https://img.example.com/cream.jpg", "SKU-CREAM", "600001", "lily", "3年"],
    ["氨基酸洁面乳", "50010815", "59.00", "12", "买家承担",
     "https://img.example.com/wash.jpg", "SKU-WASH", "600002", "mei", ""],
    ["补水面膜 10片", "50010815", "89.00", "0", "卖家承担", "", "SKU-MASK", "600003", "", ""],
]  # fmt: skip

ORDER_HEADERS = [
    "订单编号",
    "买家会员名",
    "总金额",
    "订单状态",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "商家编码",
    "宝贝总数量",
]
ORDERS = [
    # linked by exact title (the Taobao order export has only 宝贝标题)
    ["T-9001", "小红", "129.00", "买家已付款，等待卖家发货", "2026-11-20 10:00:00",
     "2026-11-20 10:01:00", "玫瑰保湿面霜 50ml", "", "1"],
    # linked by 商家编码
    ["T-9002", "小蓝", "59.00", "买家已付款，等待卖家发货", "2026-11-20 11:00:00",
     "2026-11-20 11:01:00", "洁面乳（旧标题）", "SKU-WASH", "1"],
    # names no product of the catalogue
    ["T-9003", "小绿", "20.00", "买家已付款，等待卖家发货", "2026-11-20 12:00:00",
     "2026-11-20 12:01:00", "赠品小样", "", "1"],
]  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_import_group(monkeypatch):
    # build_parser() registers the shared `import` group again; start from scratch each time.
    monkeypatch.setattr(orders_cli, "import_subparsers", None)


def _csv_gbk(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    return write_gbk_csv(path, header, rows)


@pytest.fixture
def fresh_shop(capsys) -> Shop:
    """A shop made by `kefu shop create` with two sub-accounts made by `kefu agent create`."""
    assert (
        main(
            [
                "shop", "create", "--name", "Rose Beauty", "--platform", "taobao",
                "--currency", "CNY", "--timezone", "Asia/Shanghai", "--slug", "rose", "--json",
            ]
        )
        == 0
    )  # fmt: skip
    for login in ("lily", "mei"):
        assert main(["agent", "create", "--shop", "rose", "--login", login, "--groups",
                     "pre_sale,after_sale"]) == 0  # fmt: skip
    capsys.readouterr()
    return Shop.objects.get(slug="rose")


def _import(kind: str, path: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["import", kind, str(path), "--shop", "rose", "--quiet", *extra])
    out, err = capsys.readouterr()
    return code, out + err


def _sidebar(user: User, order: Order) -> str:
    """The order panel beside the buyer's chat; "" when the login may not see the buyer."""
    response = login_client(user).get(f"/orders/sidebar/{order.buyer_id}/")
    assert response.status_code in (200, 404)
    return response.content.decode() if response.status_code == 200 else ""


def test_products_then_orders_the_sub_account_sees_its_orders(fresh_shop, tmp_path, capsys):
    products = _csv_gbk(tmp_path / "products.csv", PRODUCT_HEADERS, PRODUCTS)
    code, out = _import("products", products, capsys)
    assert code == 0, out
    assert "3 rows -> created 3, updated 0, unchanged 0, rejected 0" in out
    cream = Product.objects.get(shop=fresh_shop, external_id="600001")
    assert (cream.sku, cream.price, cream.stock, cream.owner.username) == (
        "SKU-CREAM",
        Decimal("129.00"),
        40,
        "lily",
    )
    assert cream.free_shipping and cream.image_url == "https://img.example.com/cream.jpg"
    assert cream.shelf_life == "3年"
    wash = Product.objects.get(shop=fresh_shop, external_id="600002")
    assert not wash.free_shipping and wash.owner.username == "mei"

    orders = _csv_gbk(tmp_path / "orders.csv", ORDER_HEADERS, ORDERS)
    code, out = _import("orders", orders, capsys)
    assert code == 0, out
    assert "order items without a product: 1 in 1 orders" in out
    lily, mei = User.objects.get(username="lily"), User.objects.get(username="mei")
    by_title = Order.objects.get(shop=fresh_shop, external_id="T-9001")
    by_sku = Order.objects.get(shop=fresh_shop, external_id="T-9002")
    assert "T-9001" in _sidebar(lily, by_title)
    assert "T-9001" not in _sidebar(mei, by_title)
    assert "T-9002" in _sidebar(mei, by_sku)
    assert "T-9002" not in _sidebar(lily, by_sku)
    assert OrderItem.objects.get(order=by_sku).sku == "SKU-WASH"

    # The same file again changes nothing.
    code, out = _import("products", products, capsys)
    assert code == 0 and "created 0, updated 0, unchanged 3, rejected 0" in out


def test_products_imported_after_the_orders_link_them(fresh_shop, tmp_path, capsys):
    orders = _csv_gbk(tmp_path / "orders.csv", ORDER_HEADERS, ORDERS)
    assert _import("orders", orders, capsys)[0] == 0
    lily = User.objects.get(username="lily")
    order = Order.objects.get(shop=fresh_shop, external_id="T-9001")
    assert "T-9001" not in _sidebar(lily, order)
    assert OrderItem.objects.filter(shop=fresh_shop, product__isnull=True).count() == 3

    products = _csv_gbk(tmp_path / "products.csv", PRODUCT_HEADERS, PRODUCTS)
    code, out = _import("products", products, capsys)
    assert code == 0, out
    # Only the free sample is left, and the output says so.
    assert "order items without a product: 1 in 1 orders" in out
    assert "赠品小样" in out
    assert "T-9001" in _sidebar(lily, order)
    linked = dict(
        OrderItem.objects.filter(shop=fresh_shop).values_list("order__external_id", "product__sku")
    )
    assert linked == {"T-9001": "SKU-CREAM", "T-9002": "SKU-WASH", "T-9003": None}


def test_a_title_two_products_share_links_to_neither(fresh_shop, tmp_path, capsys):
    rows = [[*PRODUCTS[0]], [*PRODUCTS[0]]]
    rows[1][6:8] = ["SKU-CREAM-2", "600009"]
    _import("products", _csv_gbk(tmp_path / "p.csv", PRODUCT_HEADERS, rows), capsys)
    _import("orders", _csv_gbk(tmp_path / "o.csv", ORDER_HEADERS, ORDERS[:1]), capsys)
    assert OrderItem.objects.get(order__external_id="T-9001").product is None


def test_taobao_assistant_file_with_version_line_and_two_header_rows(fresh_shop, tmp_path, capsys):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t")
    writer.writerow(["version 1.00"])
    writer.writerow(["title", "price", "num", "outer_id", "num_id", "picture"])
    writer.writerow(["宝贝名称", "宝贝价格", "宝贝数量", "商家编码", "数字ID", "新图片"])
    writer.writerow(["护手霜", "19.90", "8", "SKU-HAND", "600020", "0123456789abcdef0123:1:0:|;"])
    path = tmp_path / "assistant.csv"
    path.write_bytes(buf.getvalue().encode("gbk"))
    code, out = _import("products", path, capsys)
    assert code == 0, out
    assert "1 rows -> created 1" in out
    assert "not a web address: the product is stored without an image" in out
    hand = Product.objects.get(shop=fresh_shop, external_id="600020")
    assert (hand.title, hand.price, hand.stock, hand.image_url) == (
        "护手霜",
        Decimal("19.90"),
        8,
        "",
    )


def test_aliexpress_product_list_xlsx(fresh_shop, tmp_path, capsys):
    book = Workbook()
    sheet = book.active
    sheet.append(["Product ID", "Product Name", "SKU code", "Price", "Stock", "Owner", "Status"])
    sheet.append(["1005001", "LED desk lamp", "LAMP-1", "25.50", 100, "lily", "online"])
    sheet.append(["1005002", "Lamp shade", "LAMP-2", "8", 0, "", "online"])
    path = tmp_path / "aliexpress.xlsx"
    book.save(path)
    code, out = _import("products", path, capsys)
    assert code == 0, out
    lamp = Product.objects.get(shop=fresh_shop, external_id="1005001")
    assert (lamp.title, lamp.sku, lamp.price, lamp.stock, lamp.owner.username) == (
        "LED desk lamp",
        "LAMP-1",
        Decimal("25.50"),
        100,
        "lily",
    )
    assert Product.objects.get(external_id="1005002").owner is None


def test_jsonl_sets_related_main_push_and_excluded_regions(fresh_shop, tmp_path, capsys):
    lines = [
        {"external_id": "J-1", "title": "Tea set", "price": "45.00", "is_main_push": True,
         "related_external_ids": ["J-2", "J-404"], "free_shipping": True,
         "free_shipping_excluded_regions": ["新疆", "西藏"], "usage_cycle_days": 30},
        {"external_id": "J-2", "title": "Tea cups", "owner": "mei"},
    ]  # fmt: skip
    path = tmp_path / "products.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines))
    code, out = _import("products", path, capsys)
    assert code == 0, out
    assert "related product J-404 not found" in out
    tea = Product.objects.get(shop=fresh_shop, external_id="J-1")
    assert tea.is_main_push and tea.usage_cycle_days == 30
    assert tea.free_shipping_excluded_regions == ["新疆", "西藏"]
    assert [p.external_id for p in tea.related.all()] == ["J-2"]
    assert Product.objects.get(external_id="J-2").owner.username == "mei"


def test_bad_rows_are_rejected_with_reasons_and_the_others_stored(fresh_shop, tmp_path, capsys):
    rows = [
        [*PRODUCTS[0]],
        ["坏价格", "", "12元五角", "1", "", "", "SKU-B1", "600101", "", ""],
        ["重复编码", "", "10", "1", "", "", "SKU-CREAM", "600102", "", ""],
        ["坏图片", "", "10", "1", "", "not a picture", "SKU-B3", "600103", "", ""],
        ["无此客服", "", "10", "1", "", "", "SKU-B4", "600104", "nobody", ""],
        ["坏库存", "", "10", "many", "", "", "SKU-B5", "600105", "", ""],
    ]
    code, out = _import("products", _csv_gbk(tmp_path / "bad.csv", PRODUCT_HEADERS, rows), capsys)
    assert code == 3
    assert "6 rows -> created 1, updated 0, unchanged 0, rejected 5" in out
    assert "row 3: 宝贝价格: '12元五角' is not an amount" in out
    assert "row 4: SKU SKU-CREAM already belongs to product 600001" in out
    assert "row 5: image 'not a picture' is not a web address" in out
    assert "row 6: no sub-account with login nobody in this shop" in out
    assert "row 7: 宝贝数量: 'many' is not a whole number" in out
    assert list(Product.objects.filter(shop=fresh_shop).values_list("external_id", flat=True)) == [
        "600001"
    ]


def test_a_file_without_a_title_column_is_refused_whole(fresh_shop, tmp_path, capsys):
    path = _csv_gbk(tmp_path / "no_title.csv", ["宝贝ID", "宝贝价格"], [["600001", "10"]])
    code, out = _import("products", path, capsys)
    assert code == 2
    assert "no title column" in out
    assert not Product.objects.filter(shop=fresh_shop).exists()
    # --map names the column.
    path = _csv_gbk(tmp_path / "named.csv", ["宝贝ID", "Artikel"], [["600001", "Lamp"]])
    code, out = _import("products", path, capsys, "--map", "Artikel=title")
    assert code == 0, out
    assert Product.objects.get(shop=fresh_shop).title == "Lamp"


def test_a_file_that_is_not_a_spreadsheet_is_refused(fresh_shop, tmp_path, capsys):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    code, out = _import("products", path, capsys)
    assert code == 2 and "is not a spreadsheet" in out


def test_upload_page_imports_and_shows_unlinked_items(fresh_shop, tmp_path, capsys):
    _import("orders", _csv_gbk(tmp_path / "o.csv", ORDER_HEADERS, ORDERS), capsys)
    owner = User.objects.get(shop=fresh_shop, role="owner")
    client = login_client(owner)
    client.cookies["django_language"] = "en"
    page = client.get("/products/import/")
    assert page.status_code == 200
    assert "3 items in 3 orders name no product" in page.content.decode()
    data = _csv_gbk(tmp_path / "products.csv", PRODUCT_HEADERS, PRODUCTS).read_bytes()
    upload = io.BytesIO(data)
    upload.name = "宝贝.csv"
    response = client.post("/products/import/", {"file": upload}, HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 200, body
    assert Product.objects.filter(shop=fresh_shop).count() == 3
    assert "1 items in 1 orders name no product" in body
    # A sub-account may not import.
    lily = login_client(User.objects.get(username="lily"))
    assert lily.get("/products/import/").status_code == 403


def test_upload_page_refuses_a_file_without_titles(fresh_shop, tmp_path):
    owner = User.objects.get(shop=fresh_shop, role="owner")
    upload = io.BytesIO("宝贝ID,宝贝价格\n1,2\n".encode("gbk"))
    upload.name = "x.csv"
    response = login_client(owner).post("/products/import/", {"file": upload})
    assert response.status_code == 400
    assert not Product.objects.filter(shop=fresh_shop).exists()


def _post_product(shop: Shop, payload: dict) -> tuple[int, dict]:
    body = json.dumps(payload).encode()
    response = Client().post(
        "/api/v1/catalog/inbound",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
    )
    return response.status_code, response.json()


def test_product_webhook_creates_updates_and_refuses(fresh_shop, tmp_path, capsys):
    _import("orders", _csv_gbk(tmp_path / "o.csv", ORDER_HEADERS, ORDERS), capsys)
    status, answer = _post_product(
        fresh_shop,
        {"external_id": "W-1", "title": "赠品小样", "price": "0", "owner": "mei", "sku": "GIFT"},
    )
    assert status == 201 and answer["outcome"] == "created"
    # The order that named the product by title is now the sub-account's.
    order = Order.objects.get(external_id="T-9003")
    assert "T-9003" in _sidebar(User.objects.get(username="mei"), order)

    status, answer = _post_product(fresh_shop, {"external_id": "W-1", "stock": 7})
    assert status == 200 and answer["outcome"] == "updated"
    status, answer = _post_product(fresh_shop, {"external_id": "W-1", "stock": 7})
    assert status == 200 and answer["outcome"] == "unchanged"
    product = Product.objects.get(shop=fresh_shop, external_id="W-1")
    assert (product.stock, product.title, product.owner.username) == (7, "赠品小样", "mei")

    for payload, reason in [
        ({"external_id": "W-2"}, "a new product needs a title"),
        ({"external_id": "W-2", "title": "x", "owner": "ghost"}, "no sub-account"),
        ({"external_id": "W-2", "title": "x", "sku": "GIFT"}, "already belongs"),
        ({"external_id": "W-2", "title": "x", "image_url": "ftp://x"}, "not a web address"),
        ({"external_id": "W-2", "title": "x", "price": "-1"}, "invalid product"),
    ]:
        status, answer = _post_product(fresh_shop, payload)
        assert status == 400 and reason in answer["detail"], answer
    assert not Product.objects.filter(external_id="W-2").exists()

    bad = Client().post(
        "/api/v1/catalog/inbound",
        data=b"{}",
        content_type="application/json",
        headers=signed_headers(slug=fresh_shop.slug, secret="wrong", body=b"{}"),
    )
    assert bad.status_code == 401


def test_order_webhook_items_link_by_sku(fresh_shop, tmp_path, capsys):
    _import("products", _csv_gbk(tmp_path / "p.csv", PRODUCT_HEADERS, PRODUCTS), capsys)
    order = {
        "external_id": "W-7001",
        "buyer": {"external_id": "b-77", "name": "Ann"},
        "status": "paid",
        "placed_at": "2026-11-20T10:00:00+08:00",
        "items": [{"sku": "SKU-WASH", "quantity": 2}],
    }
    body = json.dumps(order).encode()
    response = Client().post(
        "/api/v1/orders/inbound",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=fresh_shop.slug, secret=fresh_shop.webhook_secret, body=body),
    )
    assert response.status_code == 201, response.content
    stored = Order.objects.get(shop=fresh_shop, external_id="W-7001")
    assert "W-7001" in _sidebar(User.objects.get(username="mei"), stored)
    assert "W-7001" not in _sidebar(User.objects.get(username="lily"), stored)


def test_prices_are_read_by_the_shared_amount_rule(fresh_shop, tmp_path, capsys):
    path = tmp_path / "prices.csv"
    path.write_text(
        "Title,Product ID,Price,Currency\n"
        'Lamp,P-1,"15,34 €",EUR\n'
        'Shade,P-2,"15,34 €",USD\n'
        "Bulb,P-3,US $12.50,\n"
        "Cord,P-4,12.3.4,\n",
        encoding="utf-8",
    )
    code, out = _import("products", path, capsys)
    assert code == 3
    assert "row 3: Price: '15,34 €' is in EUR but the row is in USD" in out
    assert "row 5: Price: '12.3.4' is not an amount (its digit groups are not thousands)" in out
    prices = {p.external_id: (p.price, p.currency) for p in Product.objects.filter(shop=fresh_shop)}
    assert prices == {"P-1": (Decimal("15.34"), "EUR"), "P-3": (Decimal("12.50"), "USD")}


def test_the_terminal_names_map_for_a_missing_column(fresh_shop, tmp_path, capsys):
    path = _csv_gbk(tmp_path / "no_title.csv", ["宝贝ID", "Artikel"], [["600001", "Lamp"]])
    code, out = _import("products", path, capsys)
    assert code == 2
    assert "Use --map 'YOUR HEADER=title'." in out
