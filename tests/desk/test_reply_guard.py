"""The rule guard on the reply path (R-22..R-29): blocked replies are neither stored nor sent;
warnings need a confirmation that is recorded."""

from __future__ import annotations

import json

import pytest

from kefu.compliance.models import ComplianceFinding
from kefu.conversations.models import Message, Outbox
from kefu.desk import replies
from tests.conftest import login_client
from tests.helpers import buyer_says, online

pytestmark = pytest.mark.django_db

BLOCKED = "Add me on WhatsApp and pay there, it is cheaper"
WARNED = "Please wait patiently for the refund"


@pytest.fixture
def conv(shop, pre_agent):
    online(pre_agent)
    return buyer_says(shop).conversation


def test_blocked_reply_is_not_stored_not_delivered_and_is_recorded(conv, pre_agent):
    with pytest.raises(replies.RuleStop) as stop:
        replies.send_reply(actor=pre_agent, conversation=conv, text=BLOCKED, confirm_warnings=True)
    assert stop.value.needs_confirmation is False
    assert "off_platform" in stop.value.verdict.codes
    assert not Message.objects.filter(direction="agent").exists()
    assert not Outbox.objects.exists()
    finding = ComplianceFinding.objects.get()
    assert (finding.code, finding.blocked, finding.actor) == ("off_platform", True, pre_agent)


def test_warning_needs_a_confirmation_which_is_recorded(conv, pre_agent):
    with pytest.raises(replies.RuleStop) as stop:
        replies.send_reply(actor=pre_agent, conversation=conv, text=WARNED)
    assert stop.value.needs_confirmation is True
    assert not Message.objects.filter(direction="agent").exists()
    message = replies.send_reply(
        actor=pre_agent, conversation=conv, text=WARNED, confirm_warnings=True
    )
    assert message.text.startswith(WARNED)
    assert ComplianceFinding.objects.filter(code="wait_patiently", overridden=True).exists()


def test_clean_reply_passes_without_findings(conv, pre_agent):
    replies.send_reply(
        actor=pre_agent, conversation=conv, text="An invoice can be issued for the amount you paid."
    )
    assert not ComplianceFinding.objects.exists()


def test_page_shows_the_explanation_and_the_alternative(conv, pre_agent):
    client = login_client(pre_agent)
    client.post("/language/", {"language": "en"})
    response = client.post(f"/inbox/{conv.pk}/reply/", {"text": BLOCKED}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 422
    assert "was not sent" in body and "Instead:" in body
    warn = client.post(f"/inbox/{conv.pk}/reply/", {"text": WARNED}, HTTP_HX_REQUEST="true")
    assert warn.status_code == 409 and "Send anyway" in warn.content.decode()
    sent = client.post(
        f"/inbox/{conv.pk}/reply/",
        {"text": WARNED, "confirm_warnings": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert sent.status_code == 204


def test_api_answers_422_for_a_block_and_409_for_a_warning(conv, pre_agent):
    client = login_client(pre_agent)
    url = f"/api/v1/conversations/{conv.pk}/replies"
    blocked = client.post(url, data=json.dumps({"text": BLOCKED}), content_type="application/json")
    assert blocked.status_code == 422
    assert blocked.json()["verdict"]["verdict"] == "block"
    warned = client.post(url, data=json.dumps({"text": WARNED}), content_type="application/json")
    assert warned.status_code == 409
    confirmed = client.post(
        url,
        data=json.dumps({"text": WARNED, "confirm_warnings": True}),
        content_type="application/json",
    )
    assert confirmed.status_code == 201
    assert Message.objects.filter(direction="agent").count() == 1
