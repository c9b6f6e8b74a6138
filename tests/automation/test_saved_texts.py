"""R-29: scripts, quick replies, keyword and welcome replies that break a rule cannot be saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kefu.automation.config import update_automation_settings
from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from kefu.automation.models import KeywordRule, QuickReply, Script
from kefu.automation.quick_replies import create_quick_reply
from kefu.automation.scripts import ScriptInput, create_script
from kefu.compliance.models import ComplianceFinding

pytestmark = pytest.mark.django_db

BAD = "Add me on WhatsApp and pay there, it is cheaper"


def test_violating_script_is_refused_and_nothing_is_saved(owner):
    data = ScriptInput(stage="pre_sale", topic="price", title="Cheaper deal", variants={"en": BAD})
    with pytest.raises(ValidationError, match="off_platform"):
        create_script(actor=owner, data=data)
    assert not Script.objects.filter(title="Cheaper deal").exists()
    assert ComplianceFinding.objects.filter(source="script", code="off_platform").exists()


def test_violating_quick_reply_is_refused(pre_agent):
    with pytest.raises(ValidationError, match="off_platform"):
        create_quick_reply(actor=pre_agent, title="deal", body=BAD)
    assert not QuickReply.objects.exists()


def test_violating_welcome_text_is_refused(owner):
    with pytest.raises(ValidationError, match="welcome"):
        update_automation_settings(
            actor=owner,
            welcome_enabled=True,
            welcome_text=BAD,
            out_of_hours_enabled=False,
            out_of_hours_text="",
            agent_quiet_minutes=10,
            keyword_replies_enabled=True,
        )


def test_violating_keyword_reply_is_refused(owner):
    rules = [
        KeywordRuleInput(keyword=k, reply_type="text", text=t)
        for k, t in (
            ("coupon", "Use code SAVE5 at checkout."),
            ("ship", "We ship within 48 hours."),
            ("discount", BAD),
        )
    ]
    with pytest.raises(ValidationError, match="rule 3"):
        save_keyword_rules(actor=owner, rules=rules)
    assert not KeywordRule.objects.exists()


def test_compliant_texts_save(owner):
    create_quick_reply(
        actor=owner, title="invoice", body="An invoice can be issued for the amount you paid."
    )
    assert QuickReply.objects.count() == 1
