"""Marks whose effects reach past the conversation: a red mark is the buyer's complaint (R-14)."""

from __future__ import annotations

import pytest

from kefu.automation.models import AutomationHit
from kefu.automation.scripts import install_default_scripts
from kefu.conversations.models import ConversationMark
from tests.conftest import login_client
from tests.helpers import add_product, buyer_says, online, reply_with_suggested_script

pytestmark = pytest.mark.django_db


@pytest.fixture
def scripted(shop, pre_agent):
    """A buyer asked, the agent answered with a suggested script."""
    install_default_scripts(shop=shop)
    add_product(shop, "AE-LAMP", "Moon lamp")
    online(pre_agent)
    conv = buyer_says(shop, "Is the moon lamp in stock?", product="AE-LAMP").conversation
    client = login_client(pre_agent)
    reply_with_suggested_script(client, conv.pk)
    return conv, client


def test_a_red_mark_counts_as_a_complaint_after_the_script(scripted):
    conv, client = scripted

    response = client.post(
        f"/inbox/{conv.pk}/marks/", {"color": "red", "defect": "arrived cracked"}
    )

    assert response.status_code in (204, 302)
    mark = ConversationMark.objects.get(conversation=conv, color="red")
    hit = AutomationHit.objects.get(kind="script", conversation=conv)
    assert hit.complained_at == mark.created_at


def test_other_marks_are_not_complaints(scripted):
    conv, client = scripted

    client.post(f"/inbox/{conv.pk}/marks/", {"color": "blue", "note": "VIP"})

    assert ConversationMark.objects.filter(conversation=conv, color="blue").exists()
    assert AutomationHit.objects.get(kind="script", conversation=conv).complained_at is None


def test_a_refused_red_mark_records_no_complaint(scripted):
    conv, client = scripted

    client.post(f"/inbox/{conv.pk}/marks/", {"color": "red", "defect": ""})

    assert not ConversationMark.objects.filter(conversation=conv).exists()
    assert AutomationHit.objects.get(kind="script", conversation=conv).complained_at is None
