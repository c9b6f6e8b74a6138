"""Times of day are the shop's wall clock: one with an offset is refused with a reason
(issue 10 item 11), not a server error, and nothing changes."""

from __future__ import annotations

import json

import pytest

from kefu.automation.models import BusinessHours
from kefu.orders.models import OrderSettings
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["22:00:00Z", "22:00:00+08:00"])
def test_quiet_hours_with_an_offset_are_refused(shop, owner, value):
    response = login_client(owner).patch(
        "/api/v1/orders/settings",
        json.dumps({"quiet_start": value}),
        content_type="application/json",
    )

    assert response.status_code in (400, 422)
    assert "offset" in response.content.decode()
    assert not OrderSettings.objects.exists()


def test_opening_hours_with_an_offset_are_refused(shop, owner):
    response = login_client(owner).put(
        "/api/v1/automation/business-hours",
        json.dumps(
            {"intervals": [{"weekday": 0, "opens": "09:00:00+08:00", "closes": "18:00:00"}]}
        ),
        content_type="application/json",
    )

    assert response.status_code in (400, 422)
    assert "offset" in response.content.decode()
    assert not BusinessHours.objects.exists()


def test_wall_clock_times_are_taken(shop, owner):
    response = login_client(owner).patch(
        "/api/v1/orders/settings",
        json.dumps({"quiet_start": "22:30:00"}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["quiet_start"] == "22:30:00"
