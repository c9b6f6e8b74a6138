"""Seller-centre exports as sellers download them import without a mapping: the AliExpress
order export (English headers, "Buyer Name" only, "US $…" amounts, the statuses as the
seller centre shows them) and a Taobao GBK export with its header and cell quirks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.conversations.models import Buyer
from kefu.orders.importers.run import import_orders
from kefu.orders.models import Order, OrderFlag, OrderStatus

pytestmark = pytest.mark.django_db

FIXTURES = "tests/orders/fixtures"


def test_the_aliexpress_seller_centre_export_imports_without_a_mapping(shop):
    summary = import_orders(shop=shop, path=f"{FIXTURES}/aliexpress_seller_centre.csv")

    assert (summary.rows, summary.created, summary.rejected) == (11, 11, 0), summary.rejections
    assert summary.unknown_columns == []
    assert summary.warnings == []
    statuses = {
        o.external_id[-2:]: (o.status, o.flags)
        for o in Order.objects.filter(shop=shop).order_by("external_id")
    }
    assert statuses == {
        "01": (OrderStatus.PLACED, []),  # Awaiting payment
        "02": (OrderStatus.PAID, []),  # Awaiting shipment
        "03": (OrderStatus.PAID, []),  # AWAITING SHIPMENT
        "04": (OrderStatus.SHIPPED, []),  # Awaiting delivery
        "05": (OrderStatus.SHIPPED, []),  # Shipped
        "06": (OrderStatus.SHIPPED, []),  # Awaiting buyer confirmation
        "07": (OrderStatus.DELIVERED, []),  # Finished
        "08": (OrderStatus.DELIVERED, []),  # Completed
        "09": (OrderStatus.CLOSED, []),  # Closed
        "10": (OrderStatus.CLOSED, []),  # Cancelled
        "11": (OrderStatus.SHIPPED, [OrderFlag.DISPUTE_OPEN]),  # In dispute
    }
    # The buyer is keyed by the "Buyer Name" column, the only buyer column of this export.
    order = Order.objects.get(shop=shop, external_id="8100000000000003")
    assert order.buyer.external_id == "Pavel Ivanov"
    assert order.buyer.name == "Pavel Ivanov"
    # "US $1,234.56" is 1234.56 US dollars.
    assert (order.total_amount, order.currency) == (Decimal("1234.56"), "USD")
    assert order.items.get().title == "Nordic desk lamp LED (Color: Warm white) x1"
    delivered = Order.objects.get(shop=shop, external_id="8100000000000007")
    assert delivered.parcels.get().tracking_number == "LP00123456789015"
    assert delivered.delivered_at is not None
    assert Buyer.objects.filter(shop=shop).count() == 11


def test_the_aliexpress_export_again_changes_nothing(shop):
    import_orders(shop=shop, path=f"{FIXTURES}/aliexpress_seller_centre.csv")
    again = import_orders(shop=shop, path=f"{FIXTURES}/aliexpress_seller_centre.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 11)


def test_a_taobao_gbk_export_with_its_quirks_imports(shop):
    summary = import_orders(shop=shop, path=f"{FIXTURES}/taobao_quirks_gbk.csv")

    assert (summary.encoding, summary.created, summary.rejected) == ("gb18030", 3, 0), (
        summary.rejections
    )
    assert summary.unknown_columns == []
    first = Order.objects.get(shop=shop, external_id="2026111100000001")  # ="…" unwrapped
    assert (first.paid_amount, first.currency, first.status) == (
        Decimal("199.00"),
        "CNY",  # from the ￥ sign
        OrderStatus.PAID,
    )
    assert first.phone == "13800000001"
    second = Order.objects.get(shop=shop, external_id="2026111100000002")
    assert (second.paid_amount, second.total_amount) == (Decimal("128.00"), Decimal("128.00"))
    assert second.items.get().quantity == 2
    assert second.parcels.get().tracking_number == "YT1234567890"  # "No：" dropped
    third = Order.objects.get(shop=shop, external_id="2026111100000003")
    assert third.paid_amount == Decimal("1299.00")


def test_a_sign_that_contradicts_the_currency_column_rejects_the_row(shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order ID,Buyer Name,Currency,Order Amount,Order Status\n"
        'A-1,Ann,EUR,"15,34 €",Awaiting shipment\n'
        'A-2,Bob,USD,"15,34 €",Awaiting shipment\n'
        'A-3,Cy,,"15,34 €",Awaiting shipment\n',
        encoding="utf-8",
    )
    summary = import_orders(shop=shop, path=path)
    assert summary.rejections == [(3, "Order Amount: '15,34 €' is in EUR but the row is in USD")]
    amounts = dict(Order.objects.filter(shop=shop).values_list("external_id", "total_amount"))
    assert amounts == {"A-1": Decimal("15.34"), "A-3": Decimal("15.34")}
    assert Order.objects.get(shop=shop, external_id="A-3").currency == "EUR"
