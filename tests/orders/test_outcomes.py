"""A paid order after a script reply counts in the script report (R-14), fed by the seller's
own webhooks and files, not by rows written by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kefu.automation import selectors
from kefu.automation.models import AutomationHit
from kefu.automation.scripts import install_default_scripts
from kefu.cli import main
from tests.conftest import login_client
from tests.helpers import buyer_says, online, post_order_signed, reply_with_suggested_script

pytestmark = pytest.mark.django_db


def _order(status: str, placed_at: dt.datetime, **extra: object) -> dict[str, object]:
    return {
        "external_id": "WH-77",
        "buyer": {"external_id": "b-1", "name": "Ivan"},
        "status": status,
        "currency": "USD",
        "total_amount": "28.50",
        "placed_at": placed_at.isoformat(),
        **extra,
    }


def _webhook(shop, payload):
    return post_order_signed("/inbound", payload, shop)


@pytest.fixture
def script_reply(shop, pre_agent):
    """Ivan asks; the agent answers with a suggested script (no gaps left)."""
    install_default_scripts(shop=shop)
    online(pre_agent)
    conv = buyer_says(shop, "Do you have this lamp in warm white?", buyer="b-1").conversation
    reply_with_suggested_script(login_client(pre_agent), conv.pk)
    return AutomationHit.objects.get(kind="script")


def test_an_order_paid_after_the_script_reply_counts_as_ordered(shop, script_reply):
    placed = timezone.now() + dt.timedelta(minutes=5)

    unpaid = _webhook(shop, _order("WAIT_BUYER_PAY", placed))
    script_reply.refresh_from_db()
    assert unpaid.status_code == 201
    assert script_reply.ordered_at is None  # placed but not paid: not a sale yet

    paid = _webhook(shop, _order("WAIT_SELLER_SEND_GOODS", placed, paid_at=placed.isoformat()))
    assert paid.status_code == 200
    script_reply.refresh_from_db()
    assert script_reply.ordered_at == placed
    report = selectors.automation_report(shop=shop, since=timezone.now() - dt.timedelta(days=1))
    row = next(r for r in report["scripts"] if r.count)
    assert (row.count, row.ordered) == (1, 1)


def test_an_order_placed_days_later_is_not_credited_to_the_script(shop, script_reply):
    placed = timezone.now() + dt.timedelta(days=3)

    _webhook(shop, _order("WAIT_SELLER_SEND_GOODS", placed, paid_at=placed.isoformat()))

    script_reply.refresh_from_db()
    assert script_reply.ordered_at is None


def test_an_imported_export_credits_the_script_too(shop, owner, script_reply, tmp_path):
    # The seller centre writes times in the shop's own zone, to the second.
    placed = (timezone.now() + dt.timedelta(minutes=30)).astimezone(ZoneInfo(shop.timezone))
    export = tmp_path / "orders.csv"
    export.write_text(
        "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间,订单付款时间\n"
        f"T-1,b-1,买家已付款，等待卖家发货,28.50,"
        f"{placed:%Y-%m-%d %H:%M:%S},{placed:%Y-%m-%d %H:%M:%S}\n",
        encoding="utf-8",
    )
    assert main(["import", "orders", str(export), "--shop", shop.slug]) == 0

    script_reply.refresh_from_db()
    assert script_reply.ordered_at == placed.replace(microsecond=0)
