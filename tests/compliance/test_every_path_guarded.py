"""Every path a message leaves the shop by goes through the rule guard (issue 14 §3).

The structural test reads the source: the outbox row is written in one place, and every
function that hands a message to it (directly or through the agent-message writer) must call
the guard itself. A new sending path that forgets the guard fails here. The behavioural tests
send through the unattended paths with a violating text.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from kefu.care.followups import RuleInput, run_follow_ups, save_rule
from kefu.care.models import FollowUp
from kefu.compliance.models import ComplianceFinding
from kefu.compliance.services import set_shipping_policy
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import Message, Outbox
from kefu.conversations.outbound import send_system_message
from kefu.desk.intake import receive_buyer_message
from kefu.orders import incidents, selectors
from kefu.orders.models import IncidentBroadcast
from tests.helpers import buyer_says, set_quiet_hours
from tests.orders.factories import make_order

KEFU = Path(__file__).resolve().parents[2] / "kefu"
# Writers that put a message on the way out, and the names that count as calling the guard.
WRITERS = {
    "queue_delivery",
    "queue_deliveries",
    "post_agent_message",
    "store_automatic_reply",
    "send_system_message",
    "send_outreach_messages",
}
GUARDS = {
    "check_outgoing",
    "check_unattended",
    "_guard",
    "ensure_saveable",
    "guard_saved_texts",
    "_blocked_by_guard",  # the system messages' one check (conversations/outbound.py)
}
# Writers that guard themselves (checked below); their callers need not.
SELF_GUARDED = {"store_automatic_reply", "send_system_message", "send_outreach_messages"}
# Sends only messages a self-guarded writer stored: automatic replies come from
# store_automatic_reply, which stores nothing the guard blocks.
SENDS_GUARDED = {
    "queue_automatic_replies": "store_automatic_reply",
    "process_batch": "store_automatic_reply",  # the intake worker's batch (kefu.desk)
}


def _functions() -> list[tuple[str, ast.FunctionDef, set[str]]]:
    found = []
    for path in KEFU.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                calls = set()
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Call):
                        func = sub.func
                        name = (
                            func.attr
                            if isinstance(func, ast.Attribute)
                            else getattr(func, "id", "")
                        )
                        calls.add(name)
                found.append((str(path.relative_to(KEFU)), node, calls))
    return found


def test_the_outbox_is_written_in_one_place():
    writers = []
    for path, func, _calls in _functions():
        for sub in ast.walk(func):
            if not isinstance(sub, ast.Call):
                continue
            # An outbox row is written by the manager, or built to be inserted in bulk.
            by_manager = (
                isinstance(sub.func, ast.Attribute)
                and sub.func.attr in {"create", "bulk_create", "get_or_create", "update_or_create"}
                and "Outbox" in ast.unparse(sub.func.value)
            )
            built = isinstance(sub.func, ast.Name) and sub.func.id == "Outbox"
            if by_manager or built:
                writers.append((path, func.name))
    assert writers == [("conversations/outbound.py", "queue_deliveries")]


def test_every_caller_of_a_message_writer_goes_through_the_guard():
    functions = _functions()
    by_name = {func.name: calls for _path, func, calls in functions}
    assert "check_unattended" in by_name["_blocked_by_guard"]
    for name in SELF_GUARDED:
        assert by_name[name] & GUARDS, name
    for name, source in SENDS_GUARDED.items():
        assert source in SELF_GUARDED, name
    unguarded = []
    for path, func, calls in functions:
        if func.name in WRITERS or func.name in SENDS_GUARDED:
            continue
        writes = calls & (WRITERS - SELF_GUARDED)
        if writes and not calls & GUARDS:
            # A function may reach a writer only through one that guards (send_reply).
            unguarded.append((path, func.name, sorted(writes)))
    queue_callers = {
        func.name for _p, func, calls in functions if calls & {"queue_delivery", "queue_deliveries"}
    }
    assert queue_callers == {
        "queue_delivery",
        "process_batch",
        "post_agent_message",
        "queue_automatic_replies",
        "send_system_message",
        "send_outreach_messages",
    }
    assert not unguarded


@pytest.mark.django_db
def test_an_incident_broadcast_that_breaks_a_rule_is_refused(shop, owner):
    make_order(shop, "I-1", buyer="ann", parcels=[("Y1", "YTO Express")], region="Zhejiang")
    with pytest.raises(ValidationError) as refused:
        incidents.create_incident_broadcast(
            actor=owner,
            title="YTO overload",
            text="Parcels are late, add me on WeChat kf8866 for a faster answer.",
            criteria=selectors.IncidentCriteria(carrier="yto"),
        )
    assert "off_platform" in str(refused.value)
    assert not IncidentBroadcast.objects.exists()
    assert ComplianceFinding.objects.get().source == "system"


@pytest.mark.django_db
def test_a_blocked_system_message_is_neither_stored_nor_sent(shop):
    conv = buyer_says(shop, "Where is my parcel?").conversation
    sent = send_system_message(
        conversation=conv,
        text="That delay is the courier's fault; also pay me via bank transfer next time.",
        automation="payment_reminder",
        dedupe_key="test:1",
    )
    assert sent is None
    assert not Message.objects.filter(direction="auto").exists()
    assert not Outbox.objects.exists()
    assert ComplianceFinding.objects.filter(source="system", blocked=True).exists()


@pytest.mark.django_db
def test_an_automatic_reply_that_became_a_violation_is_not_sent(shop, owner):
    # Saved while the shop promised nothing about postage; then the shop ships free.
    text = "Remote regions please top up 15 yuan for postage."
    save_keyword_rules(
        actor=owner,
        rules=[
            KeywordRuleInput(keyword="postage", reply_type="text", text=text),
            KeywordRuleInput(keyword="size", reply_type="text", text="Sizes run large."),
            KeywordRuleInput(keyword="colour", reply_type="text", text="Grey and blue."),
        ],
    )
    set_shipping_policy(shop=shop, actor=owner, free_shipping=True)
    result = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="b-1", name="Anna"),
        text="What is the postage to Xinjiang?",
        entry_point="product_page",
        external_id="m-1",
    )
    assert result.auto_replies == []
    assert not Outbox.objects.exists()
    finding = ComplianceFinding.objects.get(source="keyword_reply", blocked=True)
    assert finding.code == "free_shipping"


@pytest.mark.django_db
def test_a_follow_up_that_became_a_violation_is_not_sent(shop, owner):
    # Saved while the shop promised nothing about postage; then the shop ships free.
    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(
            kind="after_purchase", texts={"en": "Thanks! Remote regions please top up 15 yuan."}
        ),
        now=base - dt.timedelta(days=1),
    )
    set_quiet_hours(owner, "00:00", "00:00")
    make_order(shop, "F-1", buyer="ann", placed_at=base - dt.timedelta(hours=1))
    set_shipping_policy(shop=shop, actor=owner, free_shipping=True)
    result = run_follow_ups(shop=shop, now=base)
    assert (result["sent"], result["skipped"]) == (0, 1)
    assert FollowUp.objects.get().reason == "blocked"
    assert not Message.objects.filter(direction="auto").exists()
    assert not Outbox.objects.exists()
    assert ComplianceFinding.objects.filter(source="system", blocked=True).exists()
