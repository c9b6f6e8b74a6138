"""The automation hook as message intake (kefu.desk.intake) calls it."""

from kefu.automation.models import AutomationSettings
from kefu.automation.services import KeywordRuleInput, save_keyword_rules
from kefu.conversations.buyers import BuyerIn
from kefu.desk import intake


def test_intake_sends_welcome_and_keyword_reply_and_keeps_the_message_unread(shop, owner):
    AutomationSettings.objects.create(shop=shop, welcome_enabled=True, welcome_text="Welcome!")
    save_keyword_rules(
        actor=owner,
        rules=[
            KeywordRuleInput(keyword=k, reply_type="text", text=f"about {k}")
            for k in ("refund", "tracking", "发货")
        ],
    )
    result = intake.receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="buyer-1", name="Anna"),
        text="什麼時候發貨？",
        entry_point="product_page",
        external_id="m-1",
    )
    assert [m.text for m in result.auto_replies] == ["Welcome!", "about 发货"]
    conv = result.conversation
    conv.refresh_from_db()
    assert conv.unread_count == 1
    assert conv.waiting_since is not None
    assert conv.status == "open"
    second = intake.receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="buyer-1", name="Anna"),
        text="hello?",
        entry_point="product_page",
        external_id="m-2",
    )
    assert second.auto_replies == []
    conv.refresh_from_db()
    assert conv.unread_count == 2
