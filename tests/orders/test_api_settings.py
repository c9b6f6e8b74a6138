"""Order settings over the API: only what is sent changes, refusals change nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kefu.orders import config
from kefu.orders.models import Order, OrderSettings

from ..conftest import login_client


def stored(shop) -> OrderSettings:
    return OrderSettings.objects.get(shop=shop)


def patch(client, body):
    return client.patch(
        "/api/v1/orders/settings", data=json.dumps(body), content_type="application/json"
    )


def test_reading_the_settings_stores_nothing_until_a_change(shop, owner, pre_agent):
    for user in (owner, pre_agent):
        response = login_client(user).get("/api/v1/orders/settings")
        assert response.status_code == 200
        assert response.json()["stall_days"] == 7
    assert not OrderSettings.objects.exists()

    assert patch(login_client(owner), {"stall_days": 3}).status_code == 200

    assert stored(shop).stall_days == 3
    assert OrderSettings.objects.count() == 1


def test_a_refused_first_change_stores_nothing(shop, owner):
    assert patch(login_client(owner), {"stall_days": 0}).status_code == 400
    assert not OrderSettings.objects.exists()


def test_api_reads_and_changes_only_what_is_sent(shop, owner):
    client = login_client(owner)
    defaults = client.get("/api/v1/orders/settings").json()
    assert defaults["ship_by_hours"] == 72
    assert defaults["penalty_cap"] is None  # AliExpress: no cap

    response = patch(
        client,
        {"stall_days": 3, "tracking_url_templates": {"4PX": "https://4px.example/{number}"}},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["stall_days"] == 3
    assert body["tracking_url_templates"] == {"4PX": "https://4px.example/{number}"}
    assert body["ship_by_hours"] == defaults["ship_by_hours"]
    assert body["quiet_start"] == defaults["quiet_start"]


def test_api_null_cap_removes_the_cap(other_shop, rival):
    client = login_client(rival)
    assert Decimal(client.get("/api/v1/orders/settings").json()["penalty_cap"]) == 500

    assert patch(client, {"penalty_cap": None}).json()["penalty_cap"] is None
    assert stored(other_shop).penalty_cap is None


@pytest.mark.parametrize(
    "body",
    [
        {"stall_days": 0},
        {"penalty_rate": "1.5"},
        {"ship_by_hours": 48},
        {"tracking_url_templates": {"DHL": "ftp://dhl.example/{number}"}},
        {"colour": "red"},
    ],
)
def test_api_refuses_bad_values_and_changes_nothing(shop, owner, body):
    client = login_client(owner)
    config.default_order_settings(shop=shop).save()
    before = OrderSettings.objects.filter(shop=shop).values().get()

    response = patch(client, body)

    assert response.status_code in (400, 422)
    assert response.json()["detail"]
    assert OrderSettings.objects.filter(shop=shop).values().get() == before


def test_api_sub_account_is_refused(shop, pre_agent):
    config.default_order_settings(shop=shop).save()
    client = login_client(pre_agent)

    assert client.get("/api/v1/orders/settings").status_code == 200
    response = patch(client, {"stall_days": 3})

    assert response.status_code == 403
    assert stored(shop).stall_days == 7
    assert not Order.objects.exists()
