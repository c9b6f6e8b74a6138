"""Buyers' feedback (R-40): saved from a conversation with its product, read by the owner
(a sub-account: its own chats), exported."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError

from kefu.care.feedback import save_feedback
from kefu.care.models import Feedback
from kefu.care.selectors import visible_feedback
from tests.conftest import login_client
from tests.helpers import buyer_says, online

pytestmark = pytest.mark.django_db


def test_feedback_from_a_chat_is_listed_for_the_owner_and_exported(
    shop, owner, pre_agent, after_agent, product
):
    online(pre_agent)
    conv = buyer_says(shop, "A warmer light would be nice", product="P-100").conversation
    client = login_client(pre_agent)
    assert client.get(f"/care/feedback/new/?conversation={conv.pk}").status_code == 200
    refused = client.post(
        "/care/feedback/new/", {"conversation": conv.pk, "kind": "rumour", "text": "x"}
    )
    assert refused.status_code == 400 and not Feedback.objects.exists()
    saved = client.post(
        "/care/feedback/new/",
        {"conversation": conv.pk, "kind": "suggestion", "text": "Offer a warm-white bulb"},
    )
    assert saved.status_code == 302
    item = Feedback.objects.get()
    assert (item.product, item.buyer, item.created_by) == (product, conv.buyer, pre_agent)
    assert list(visible_feedback(owner)) == [item]
    assert list(visible_feedback(after_agent)) == []
    exported = login_client(owner).get("/care/feedback/?export=csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][1:4] == ["suggestion", "Ivan", "Desk lamp"]
    assert rows[1][6] == "Offer a warm-white bulb"
    with pytest.raises(ValidationError):
        save_feedback(actor=owner, conversation=conv, kind="opinion", text="  ")
