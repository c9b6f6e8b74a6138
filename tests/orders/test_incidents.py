"""Incident broadcasts: each affected buyer once, never without criteria or affected orders."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.conversations.models import Message
from kefu.orders import incidents, selectors
from kefu.orders.models import IncidentBroadcast, IncidentRecipient

from .factories import make_order


def test_incident_broadcast_reaches_each_affected_buyer_once(shop, owner, pre_agent):
    make_order(shop, "I-1", buyer="ann", parcels=[("Y1", "YTO Express")], region="Zhejiang")
    make_order(shop, "I-2", buyer="ann", parcels=[("Y2", "YTO Express")], region="Zhejiang")
    make_order(shop, "I-3", buyer="ben", parcels=[("Y3", "YTO Express")], region="Zhejiang")
    make_order(shop, "I-4", buyer="cat", parcels=[("S1", "SF Express")], region="Zhejiang")
    criteria = selectors.IncidentCriteria(carrier="yto")

    with pytest.raises(PermissionDenied):
        incidents.create_incident_broadcast(actor=pre_agent, title="t", text="x", criteria=criteria)
    broadcast = incidents.create_incident_broadcast(
        actor=owner,
        title="YTO overload",
        text="Your parcel may take 3 more days.",
        criteria=criteria,
    )
    assert incidents.deliver_incident_broadcast(broadcast=broadcast) == 2
    assert incidents.deliver_incident_broadcast(broadcast=broadcast) == 0

    sent = Message.objects.filter(payload__automation="incident")
    assert sorted(sent.values_list("buyer__external_id", flat=True)) == ["ann", "ben"]
    assert IncidentRecipient.objects.count() == 2
    broadcast.refresh_from_db()
    assert broadcast.recipient_count == 2


def test_an_incident_matching_no_order_is_refused_and_stores_nothing(shop, owner):
    make_order(shop, "I-9", buyer="ann", parcels=[("S9", "SF Express")])

    with pytest.raises(ValidationError) as refused:
        incidents.create_incident_broadcast(
            actor=owner,
            title="YTO overload",
            text="Your parcel may take 3 more days.",
            criteria=selectors.IncidentCriteria(carrier="yto"),
        )

    assert refused.value.code == "no_orders"
    assert not IncidentBroadcast.objects.exists()


def test_an_incident_needs_criteria(shop, owner):
    with pytest.raises(ValidationError):
        incidents.create_incident_broadcast(
            actor=owner, title="t", text="x", criteria=selectors.IncidentCriteria()
        )
