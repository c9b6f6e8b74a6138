"""What followed a script use: replies, orders, complaints (R-14)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kefu.automation import selectors
from kefu.automation.models import AutomationHit, Script
from kefu.automation.outcomes import note_complaint, note_orders_placed, record_script_use
from kefu.automation.scripts import install_default_scripts

from .conftest import T0, make_buyer, make_conversation


def test_script_use_and_what_followed(shop, pre_agent):
    install_default_scripts(shop=shop)
    buyer = make_buyer(shop)
    conv = make_conversation(shop, buyer)
    script = Script.objects.get(shop=shop, key="payment-reminder")
    hit = record_script_use(
        agent=pre_agent, conversation=conv, script=script, language="en", suggested=True
    )
    assert hit.kind == "script"
    note_orders_placed(shop=shop, placed=[(buyer.pk, hit.created_at + dt.timedelta(hours=47))])
    note_complaint(shop=shop, conversation=conv, at=hit.created_at + dt.timedelta(hours=49))
    hit.refresh_from_db()
    assert hit.ordered_at is not None
    assert hit.complained_at is None  # outside the 48 h window
    report = selectors.automation_report(shop=shop, since=T0 - dt.timedelta(days=365))
    row = report["scripts"][0]
    assert (row.label, row.count, row.ordered, row.order_rate) == (
        "Payment reminder (催付)",
        1,
        1,
        1.0,
    )


def test_script_use_across_shops_is_refused(shop, other_shop, rival, pre_agent):
    install_default_scripts(shop=shop)
    conv = make_conversation(other_shop, make_buyer(other_shop))
    script = Script.objects.filter(shop=shop).first()
    with pytest.raises(ValidationError):
        record_script_use(agent=pre_agent, conversation=conv, script=script, language="en")
    assert not AutomationHit.objects.exists()
