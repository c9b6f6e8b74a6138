"""Order settings: reads store nothing, the page changes what the jobs and the sidebar do, and a
refusal changes nothing (the API's side is in test_api_settings)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from kefu.orders import config, reminders
from kefu.orders.models import OrderSettings

from ..conftest import login_client
from .factories import make_order

UTC = dt.UTC

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

PAGE = "/orders/settings/"

VALID_FORM = {
    "payment_reminder_enabled": "on",
    "payment_reminder_delay_minutes": "30",
    "payment_reminder_max_age_hours": "24",
    "quiet_start": "23:00",
    "quiet_end": "07:30",
    "ship_by_hours": "24",
    "refund_days": "5 - 15",
    "risk_window_hours": "6",
    "penalty_percent": "25",
    "penalty_cap": "300",
    "penalty_cap_currency": "cny",
    "stall_days": "5",
    "tracking_links": "Cainiao = https://track.example/cn?no={number}\n\n* = https://any.example/{number}",
}


def en(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def stored(shop) -> OrderSettings:
    return OrderSettings.objects.get(shop=shop)


def test_owner_saves_the_page_and_sees_the_values_again(shop, owner):
    client = en(login_client(owner))

    response = client.post(PAGE, VALID_FORM)

    assert response.status_code == 302
    saved = stored(shop)
    assert saved.payment_reminder_delay_minutes == 30
    assert saved.payment_reminder_max_age_hours == 24
    assert (saved.quiet_start, saved.quiet_end) == (dt.time(23, 0), dt.time(7, 30))
    assert saved.ship_by_hours == 24
    assert saved.risk_window_hours == 6
    assert saved.penalty_rate == Decimal("0.25")
    assert (saved.penalty_cap, saved.penalty_cap_currency) == (Decimal("300"), "CNY")
    assert saved.stall_days == 5
    assert saved.refund_days == "5–15"  # written the one way scripts show it
    assert saved.tracking_url_templates == {
        "Cainiao": "https://track.example/cn?no={number}",
        "*": "https://any.example/{number}",
    }
    page = client.get(PAGE).content.decode()
    assert 'name="stall_days" type="number" min="1" max="60" value="5"' in page
    assert "Cainiao = https://track.example/cn?no={number}" in page
    assert 'value="25"' in page


def test_saved_tracking_link_appears_on_the_order(shop, owner):
    order = make_order(shop, "TL-1", parcels=[("LP777", "CAINIAO")])
    client = en(login_client(owner))
    assert "track.example/cn?no=LP777" not in client.get(f"/orders/{order.pk}/").content.decode()

    client.post(PAGE, VALID_FORM)

    assert (
        "https://track.example/cn?no=LP777" in client.get(f"/orders/{order.pk}/").content.decode()
    )


def test_shipping_promise_applies_to_orders_paid_afterwards(shop, owner):
    login_client(owner).post(PAGE, VALID_FORM)  # 24 h promise

    order = make_order(shop, "SB-1", paid_at=T0)

    assert order.ship_by == T0 + dt.timedelta(hours=24)


def test_quiet_hours_follow_the_setting(shop, owner):
    make_order(shop, "Q-1", buyer="li", status="placed", placed_at=T0)
    at_2230_shanghai = dt.datetime(2024, 11, 11, 14, 30, tzinfo=UTC)
    with time_machine.travel(at_2230_shanghai, tick=False):
        assert reminders.send_payment_reminders(shop=shop) == 0  # default quiet from 22:00

    login_client(owner).post(PAGE, VALID_FORM)  # quiet from 23:00

    with time_machine.travel(at_2230_shanghai, tick=False):
        assert reminders.send_payment_reminders(shop=shop) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"payment_reminder_delay_minutes": "1"}, "from 5 to 10080"),
        ({"stall_days": "0"}, "from 1 to 60"),
        ({"payment_reminder_max_age_hours": "1", "payment_reminder_delay_minutes": "90"}, "longer"),
        ({"penalty_percent": "130"}, "from 0 to 1"),
        ({"penalty_cap": "-5"}, "cannot be negative"),
        ({"penalty_cap_currency": "1A2"}, "three-letter"),
        ({"quiet_start": "25:00"}, "Quiet hours from"),
        ({"ship_by_hours": "48"}, "Shipping promise"),
        ({"refund_days": "20-3"}, "a range such as 3–20"),
        ({"refund_days": "soon"}, "a range such as 3–20"),
        ({"refund_days": "0"}, "from 1 to 180"),
        ({"refund_days": "3-400"}, "a range such as 3–20"),
        ({"tracking_links": "Cainiao https://x.example/{number}"}, "Line 1"),
        ({"tracking_links": "Cainiao = https://x.example/track"}, "{number}"),
        ({"tracking_links": "Cainiao = javascript:alert({number})"}, "https://"),
        (
            {
                "tracking_links": "DHL = https://a.example/{number}\ndhl = https://b.example/{number}"
            },
            "two",
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(shop, owner, change, message):
    client = en(login_client(owner))
    client.post(PAGE, VALID_FORM)
    before = OrderSettings.objects.filter(shop=shop).values().get()

    response = client.post(
        PAGE, {**VALID_FORM, **change, "stall_days": change.get("stall_days", "9")}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert OrderSettings.objects.filter(shop=shop).values().get() == before


def test_the_settings_page_and_the_jobs_read_defaults_without_storing_them(shop, owner):
    assert en(login_client(owner)).get(PAGE).status_code == 200
    assert en(login_client(owner)).get("/orders/risk/").status_code == 200

    current = config.order_settings(shop=shop)

    assert current.pk is None
    assert current.ship_by_hours == 72
    assert current.penalty_cap is None  # AliExpress: no cap
    assert not OrderSettings.objects.exists()


def test_sub_accounts_read_but_cannot_change_and_shops_stay_apart(shop, owner, pre_agent, rival):
    config.default_order_settings(shop=shop).save()
    before = OrderSettings.objects.filter(shop=shop).values().get()

    agent = en(login_client(pre_agent))
    page = agent.get(PAGE)
    assert page.status_code == 200
    assert '<fieldset class="stack" disabled>' in page.content.decode()
    assert agent.post(PAGE, VALID_FORM).status_code == 403

    rival_client = login_client(rival)
    assert rival_client.post(PAGE, VALID_FORM).status_code == 302  # their own shop's settings

    assert OrderSettings.objects.filter(shop=shop).values().get() == before
    assert stored(rival.shop).stall_days == 5
    assert Client().get(PAGE).status_code == 302


def test_both_languages_render(shop, owner):
    client = login_client(owner)
    assert "物流设置" in client.get(PAGE).content.decode()
    assert "Payment reminders" in en(client).get(PAGE).content.decode()
