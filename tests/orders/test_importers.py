from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest

from kefu.conversations.models import Buyer
from kefu.core.tabular import ImportFileError
from kefu.orders.importers.mapping import MappingError
from kefu.orders.importers.run import import_orders
from kefu.orders.models import Order, OrderEvent, OrderFlag, OrderItem, OrderStatus, Parcel
from tests.helpers import add_product

FIXTURES = Path(__file__).parent / "fixtures"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_taobao_gbk_export_is_imported_with_bad_rows_reported(shop):
    summary = import_orders(shop=shop, path=FIXTURES / "taobao_orders_gbk.csv")

    assert summary.file_format == "csv"
    assert summary.encoding == "gb18030"
    assert summary.rows == 9
    assert (summary.created, summary.updated, summary.unchanged) == (4, 0, 0)
    assert summary.rejected == 4
    reasons = dict(summary.rejections)
    assert sorted(reasons) == [6, 7, 8, 10]
    assert "买家应付货款" in reasons[6]
    assert "'abc'" in reasons[6]
    assert reasons[7] == "unknown order status '神秘状态'"
    assert reasons[8] == "订单编号 is empty"
    assert "订单创建时间" in reasons[10]

    paid = Order.objects.get(shop=shop, external_id="2024111100001")
    assert paid.status == OrderStatus.PAID
    assert paid.platform_status == "买家已付款，等待卖家发货"
    assert paid.paid_amount == Decimal("199.00")
    assert paid.currency == "USD"  # the shop's currency: the export names none
    assert paid.placed_at == dt.datetime(2024, 11, 11, 0, 5, 12, tzinfo=SHANGHAI)
    # Ship-by defaults to the shop's 72 h promise after payment.
    assert paid.ship_by == dt.datetime(2024, 11, 14, 0, 6, 1, tzinfo=SHANGHAI)
    assert paid.buyer.external_id == "小明爱购物"
    assert paid.items.get().title == "北欧风护眼台灯 LED"

    unpaid = Order.objects.get(shop=shop, external_id="2024111100002")
    assert unpaid.status == OrderStatus.PLACED
    assert unpaid.paid_at is None
    assert unpaid.items.get().quantity == 2
    assert unpaid.items.get().unit_price == Decimal("44.00")

    split = Order.objects.get(shop=shop, external_id="2024111100003")
    assert split.status == OrderStatus.SHIPPED
    assert split.goods_amount == Decimal("1580.00")
    assert sorted(split.parcels.values_list("tracking_number", "carrier")) == [
        ("YT7001", "圆通速递"),
        ("YT7002", "圆通速递"),
    ]
    assert set(split.flags) == {
        OrderFlag.SPLIT,
        OrderFlag.ADDRESS_CHANGE,
        OrderFlag.INVOICE_REQUESTED,
    }

    refunded = Order.objects.get(shop=shop, external_id="2024111100004")
    assert refunded.status == OrderStatus.REFUNDED
    assert refunded.refunded_amount == Decimal("59.00")
    assert refunded.close_reason == "买家申请退款"
    # The same buyer's two orders share one Buyer row.
    assert refunded.buyer_id == paid.buyer_id
    assert Buyer.objects.filter(shop=shop).count() == 3


def test_reimport_is_idempotent(shop):
    import_orders(shop=shop, path=FIXTURES / "taobao_orders_gbk.csv")
    counts = (
        Order.objects.count(),
        OrderItem.objects.count(),
        Parcel.objects.count(),
        OrderEvent.objects.count(),
        Buyer.objects.count(),
    )

    again = import_orders(shop=shop, path=FIXTURES / "taobao_orders_gbk.csv")

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 4)
    assert (
        Order.objects.count(),
        OrderItem.objects.count(),
        Parcel.objects.count(),
        OrderEvent.objects.count(),
        Buyer.objects.count(),
    ) == counts


def test_traditional_chinese_headers_and_statuses_map(shop):
    summary = import_orders(shop=shop, path=FIXTURES / "tmall_traditional_bom.csv")

    assert summary.encoding == "utf-8-sig"
    assert (summary.created, summary.rejected) == (2, 0)
    waiting = Order.objects.get(shop=shop, external_id="T-880001")
    assert waiting.status == OrderStatus.PAID
    assert waiting.placed_at == dt.datetime(2024, 11, 11, 10, 0, tzinfo=SHANGHAI)
    done = Order.objects.get(shop=shop, external_id="T-880002")
    assert done.status == OrderStatus.DELIVERED
    assert done.total_amount == Decimal("162.00")
    assert done.parcels.get().carrier == "順豐速運"


def test_aliexpress_xlsx_rows_of_one_order_become_its_items(shop, product):
    add_product(shop, "P-200", "LED bulb", stock=1)

    summary = import_orders(shop=shop, path=FIXTURES / "aliexpress_orders.xlsx")

    assert summary.file_format == "xlsx"
    assert (summary.created, summary.updated, summary.rejected) == (3, 0, 2)
    reasons = dict(summary.rejections)
    assert "may have lost digits" in reasons[6]
    assert "Unit Price" in reasons[7]
    order = Order.objects.get(shop=shop, external_id="8190000000000001")
    assert order.status == OrderStatus.PAID
    assert order.currency == "USD"
    assert order.total_amount == Decimal("28.50")
    items = {i.product_external_id: i for i in order.items.all()}
    assert set(items) == {"P-100", "P-200"}
    assert items["P-100"].product == product
    assert items["P-200"].quantity == 2
    # Two bulbs ordered, one in stock: the order is flagged oversold.
    assert order.stock_status == "short"
    assert OrderFlag.OVERSOLD in order.flags
    assert order.buyer.language == "ru"
    assert order.buyer.country == "RU"
    partial = Order.objects.get(shop=shop, external_id="8190000000000002")
    assert partial.status == OrderStatus.SHIPPED
    assert OrderFlag.PARTIALLY_SHIPPED in partial.flags
    assert partial.parcels.get().tracking_number == "LP00123456789CN"


def test_jsonl_feed_with_nested_items_and_a_broken_line(shop, product):
    summary = import_orders(shop=shop, path=FIXTURES / "orders.jsonl")

    assert summary.file_format == "jsonl"
    assert (summary.created, summary.rejected) == (2, 2)
    reasons = dict(summary.rejections)
    assert reasons[2].startswith("not JSON")
    assert reasons[4] == "item 1 needs a title, a product_external_id or a sku"
    order = Order.objects.get(shop=shop, external_id="J-1")
    assert order.currency == "EUR"
    assert order.paid_at == dt.datetime(2024, 11, 11, 9, 5, tzinfo=dt.UTC)
    assert order.items.get().product == product
    assert order.parcels.get().carrier == "DHL"
    assert order.buyer.language == "fr"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("photo_named.csv", "photo_named.csv is not a spreadsheet (it looks like a PNG image)"),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_rejected_whole(shop, name, message):
    with pytest.raises(ImportFileError) as caught:
        import_orders(shop=shop, path=FIXTURES / name)
    assert str(caught.value).startswith(message)
    assert not Order.objects.exists()


def test_a_text_file_without_order_columns_is_rejected_with_the_headers_found(shop):
    with pytest.raises(MappingError) as caught:
        import_orders(shop=shop, path=FIXTURES / "notes.csv")
    assert "no column for the order id" in str(caught.value)
    assert "Meeting notes" in str(caught.value)
    assert not Order.objects.exists()


def test_map_option_maps_an_unknown_layout(shop, tmp_path):
    path = tmp_path / "erp.csv"
    path.write_text("Ref,Customer,State,Sum\nE-1,c-9,paid,12.50\n", encoding="utf-8")

    summary = import_orders(
        shop=shop,
        path=path,
        overrides={
            "Ref": "external_id",
            "Customer": "buyer_external_id",
            "State": "status",
            "Sum": "total_amount",
        },
    )

    assert (summary.created, summary.rejected) == (1, 0)
    order = Order.objects.get(shop=shop, external_id="E-1")
    assert (order.status, order.total_amount) == (OrderStatus.PAID, Decimal("12.50"))


def test_import_never_moves_a_status_backwards(shop, tmp_path):
    newer = tmp_path / "newer.csv"
    newer.write_text("订单编号,买家会员名,订单状态\nX-1,b,交易成功\n", encoding="utf-8")
    older = tmp_path / "older.csv"
    older.write_text("订单编号,买家会员名,订单状态\nX-1,b,等待买家付款\n", encoding="utf-8")

    import_orders(shop=shop, path=newer)
    summary = import_orders(shop=shop, path=older)

    assert Order.objects.get(external_id="X-1").status == OrderStatus.DELIVERED
    assert summary.unchanged == 0
    assert summary.updated == 1
    assert Order.objects.get(external_id="X-1").platform_status == "等待买家付款"


def test_orders_of_one_shop_never_touch_another(shop, other_shop):
    import_orders(shop=shop, path=FIXTURES / "tmall_traditional_bom.csv")
    import_orders(shop=other_shop, path=FIXTURES / "tmall_traditional_bom.csv")

    assert Order.objects.filter(shop=shop).count() == 2
    assert Order.objects.filter(shop=other_shop).count() == 2
    assert Order.objects.get(shop=other_shop, external_id="T-880001").currency == "CNY"
