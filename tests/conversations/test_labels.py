"""What the workbench shows instead of codes (issue 13): routing reasons in the timeline,
the kind of an automatic reply, script topics — in Chinese (the default) and in English."""

from __future__ import annotations

import pytest

from kefu.automation.keyword_rules import KeywordRuleInput
from kefu.automation.starter import install_starter_set
from kefu.automation.topics import TOPIC_LABELS
from kefu.conversations.state import assign_conversation
from tests.conftest import login_client
from tests.helpers import buyer_says, keyword_replies_only, online

pytestmark = pytest.mark.django_db


def _keyword_replies_on(owner):
    keyword_replies_only(
        owner,
        [
            KeywordRuleInput(keyword=k, reply_type="text", text=f"About {k}.")
            for k in ("refund", "tracking", "lamp")
        ],
    )


def test_the_timeline_names_routing_reasons_in_the_readers_language(shop, owner, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation  # routed: the least busy agent at the inbox
    assign_conversation(actor=owner, conversation=conv, agent=owner)  # by hand
    client = login_client(owner)

    chinese = client.get(f"/inbox/{conv.pk}/timeline/").content.decode()
    assert "最空闲的客服" in chinese and "手动分配" in chinese
    assert "least_busy" not in chinese and "manual" not in chinese

    english = client.get(f"/inbox/{conv.pk}/timeline/?lang=en").content.decode()
    assert "least busy agent" in english and "assigned by hand" in english


def test_an_automatic_reply_says_what_sent_it(shop, owner, pre_agent):
    online(pre_agent)
    _keyword_replies_on(owner)
    conv = buyer_says(shop, text="Is the lamp dimmable?").conversation
    page = login_client(owner).get(f"/inbox/{conv.pk}/").content.decode()
    assert "About lamp." in page
    assert "· 关键词回复" in page and "· keyword<" not in page


def test_script_topics_show_labels_not_slugs(shop, owner):
    install_starter_set(shop=shop)  # the default script library, as a new shop gets it
    client = login_client(owner)
    chinese = client.get("/automation/scripts/").content.decode()
    english = client.get("/automation/scripts/?lang=en").content.decode()
    assert "物流查询" in chinese and "Logistics inquiry" in english
    for slug in TOPIC_LABELS:
        assert f">{slug}<" not in chinese and f"· {slug}\n" not in chinese


def test_a_moved_conversation_names_the_cause_then_the_choice():
    from django.utils import translation

    from kefu.conversations.templatetags.inbox_labels import routing_reason_label

    with translation.override("zh-hans"):
        assert routing_reason_label("offline_least_busy") == "客服已离线 · 最空闲的客服"
        assert routing_reason_label("waiting_product_owner") == "一直在等待客服 · 负责该商品"
    with translation.override("en"):
        assert routing_reason_label("disabled_no_agent_online") == (
            "the agent's login was disabled · no agent online"
        )
        assert routing_reason_label("something_new") == "something new"
