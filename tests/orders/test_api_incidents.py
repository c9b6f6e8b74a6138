"""Incident broadcasts over the API."""

from __future__ import annotations

import json

import pytest

from kefu.orders.models import IncidentBroadcast, IncidentRecipient

from ..conftest import login_client
from .factories import make_order


@pytest.fixture(autouse=True)
def _english_seller(settings):
    # The refusals asserted here are read in English (the interface's other language).
    settings.LANGUAGE_CODE = "en"


def test_incident_broadcast_over_the_api(shop, owner, pre_agent, product):
    make_order(shop, "INC-1", buyer="ivan", parcels=[("LP-I1", "Cainiao")])
    make_order(shop, "INC-2", buyer="olga", parcels=[("LP-I2", "YunExpress")])
    body = json.dumps(
        {"title": "Hub overload", "text": "Your parcel is safe.", "carrier": "Cainiao"}
    )

    refused = login_client(pre_agent).post(
        "/api/v1/orders/incidents", data=body, content_type="application/json"
    )
    accepted = login_client(owner).post(
        "/api/v1/orders/incidents", data=body, content_type="application/json"
    )

    assert refused.status_code == 403
    assert accepted.status_code == 202
    assert accepted.json()["orders"] == 1
    assert IncidentBroadcast.objects.filter(shop=shop).count() == 1


def test_an_incident_matching_no_order_is_400_and_stores_nothing(shop, owner):
    make_order(shop, "INC-3", buyer="olga", parcels=[("LP-I3", "YunExpress")])
    body = json.dumps(
        {"title": "Hub overload", "text": "Your parcel is safe.", "carrier": "Cainiao"}
    )

    response = login_client(owner).post(
        "/api/v1/orders/incidents", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "no order matches the criteria"
    assert not IncidentBroadcast.objects.exists()
    assert not IncidentRecipient.objects.exists()
