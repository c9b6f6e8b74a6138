"""Follow-ups (R-33, R-48): the owner's rules send a message right after payment, at delivery
and N days after delivery — once per order, in the buyer's language, never in quiet hours
(deferred, not dropped), never while a complaint is open, never to a buyer who opted out —
all through the rule guard and the outbox."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone

from kefu.care import tasks
from kefu.care.complaints import ComplaintChange, ComplaintInput, open_complaint, update_complaint
from kefu.care.followups import RuleInput, run_follow_ups, save_rule
from kefu.care.models import FollowUp, FollowUpRule, ReviewInvitation
from kefu.care.watch import watch_shop
from kefu.conversations.models import Message, Outbox
from kefu.orders.models import Order
from kefu.outreach.models import OptOut
from tests.conftest import login_client
from tests.helpers import buyer_says, post_order_signed, save_review_settings, set_quiet_hours

pytestmark = pytest.mark.django_db

THANKS = {
    "en": "Thank you {name}! We pack your order within 48 hours.",
    "ru": "Спасибо, {name}! Мы упакуем заказ за 48 часов.",
}


def shop_hour(base: dt.datetime, hour: int, tz: str = "Asia/Shanghai") -> dt.datetime:
    """The first moment after `base` that is `hour`:00 in the shop's zone."""
    local = base.astimezone(zoneinfo.ZoneInfo(tz)).replace(minute=0, second=0, microsecond=0)
    while local <= base or local.hour != hour:
        local += dt.timedelta(hours=1)
    return local.astimezone(dt.UTC)


def order_webhook(
    shop,
    external_id: str,
    *,
    buyer: str = "b-1",
    language: str = "en",
    paid: dt.datetime | None = None,
    delivered: dt.datetime | None = None,
) -> None:
    paid = paid or timezone.now() - dt.timedelta(hours=1)
    payload = {
        "external_id": external_id,
        "buyer": {"external_id": buyer, "name": "Ivan", "language": language},
        "status": "TRADE_FINISHED" if delivered else "WAIT_SELLER_SEND_GOODS",
        "currency": "USD",
        "total_amount": "30.00",
        "paid_amount": "30.00",
        "placed_at": paid.isoformat(),
        "paid_at": paid.isoformat(),
        "items": [
            {"product_external_id": "P-1", "title": "Tea", "quantity": 1, "unit_price": "30"}
        ],
    }
    if delivered:
        payload["delivered_at"] = delivered.isoformat()
    response = post_order_signed("/inbound", payload, shop)
    assert response.status_code in (200, 201), response.content


def sent_texts(shop) -> list[str]:
    return list(
        Message.objects.filter(shop=shop, direction="auto", payload__automation="follow_up")
        .order_by("pk")
        .values_list("text", flat=True)
    )


def test_the_owner_sets_rules_on_the_page_and_the_api_and_the_rules_guard_them(
    shop, owner, pre_agent
):
    page = login_client(owner).post(
        "/care/follow-ups/",
        {
            "kind": "after_purchase",
            "active": "on",
            "fallback_language": "en",
            "text_en": THANKS["en"],
            "text_ru": THANKS["ru"],
        },
    )
    assert page.status_code == 302
    rule = FollowUpRule.objects.get(shop=shop, kind="after_purchase")
    assert rule.active and set(rule.texts) == {"en", "ru"}
    api = login_client(owner)
    saved = api.put(
        "/api/v1/care/follow-ups/rules",
        {
            "kind": "after_days",
            "texts": {"en": "How is the tea? A review helps other buyers."},
            "days": 10,
        },
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.content
    assert saved.json()["days"] == 10
    # A text that breaks a platform rule is refused, and nothing changes.
    refused = api.put(
        "/api/v1/care/follow-ups/rules",
        {
            "kind": "at_delivery",
            "texts": {"en": "Delivered! Add me on WeChat kf8866 for a coupon."},
        },
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert not FollowUpRule.objects.filter(kind="at_delivery").exists()
    # The fallback language must have a text; days only 1..90.
    no_fallback = api.put(
        "/api/v1/care/follow-ups/rules",
        {"kind": "at_delivery", "texts": {"ru": "Доставлено!"}, "fallback_language": "en"},
        content_type="application/json",
    )
    assert no_fallback.status_code == 400
    bad_days = login_client(owner).post(
        "/care/follow-ups/", {"kind": "after_days", "days": "0", "text_en": "Hi", "active": "on"}
    )
    assert bad_days.status_code == 400
    # A sub-account reads the page but cannot change the shop's rules.
    agent = login_client(pre_agent)
    assert agent.get("/care/follow-ups/").status_code == 200
    assert agent.post("/care/follow-ups/", {"kind": "at_delivery"}).status_code == 403
    assert (
        agent.put(
            "/api/v1/care/follow-ups/rules",
            {"kind": "at_delivery", "texts": {"en": "Hi"}},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_a_paid_order_is_thanked_once_in_the_buyers_language_through_the_outbox(shop, owner):
    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=base - dt.timedelta(days=1),
    )
    order_webhook(shop, "A-1", buyer="ivan", language="ru")
    order_webhook(shop, "A-2", buyer="pablo", language="es")  # no Spanish text: the fallback
    at = shop_hour(base, 14)
    first = run_follow_ups(shop=shop, now=at)
    assert (first["planned"], first["sent"]) == (2, 2)
    assert sorted(sent_texts(shop)) == sorted(
        ["Спасибо, Ivan! Мы упакуем заказ за 48 часов.", THANKS["en"].format(name="Ivan")]
    )
    by_order = {f.order.external_id: f for f in FollowUp.objects.select_related("order")}
    assert (by_order["A-1"].language, by_order["A-2"].language) == ("ru", "en")
    # In the buyer's after-sale conversation, on the way out through the outbox.
    message = by_order["A-1"].message
    assert message.conversation.group == "after_sale"
    assert Outbox.objects.filter(message=message).exists()
    # The marketplace sends the order again (shipped), the job runs again: nothing twice.
    order_webhook(shop, "A-1", buyer="ivan", language="ru")
    again = run_follow_ups(shop=shop, now=at + dt.timedelta(minutes=5))
    assert (again["planned"], again["sent"]) == (0, 0)
    assert len(sent_texts(shop)) == 2
    assert FollowUp.objects.filter(order__external_id="A-1").count() == 1


def test_a_rule_does_not_message_orders_paid_before_it_was_switched_on(shop, owner):
    base = timezone.now()
    order_webhook(shop, "OLD-1", paid=base - dt.timedelta(hours=5))
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=base - dt.timedelta(hours=2),
    )
    order_webhook(shop, "NEW-1", buyer="b-2", paid=base - dt.timedelta(hours=1))
    run_follow_ups(shop=shop, now=shop_hour(base, 14))
    assert list(FollowUp.objects.values_list("order__external_id", flat=True)) == ["NEW-1"]


def test_quiet_hours_defer_the_message_to_their_end_in_the_shops_time(shop, owner):
    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=base - dt.timedelta(days=1),
    )
    set_quiet_hours(owner, "22:00", "08:00")
    order_webhook(shop, "Q-1")
    night = shop_hour(base, 23)  # 23:00 in Shanghai
    deferred = run_follow_ups(shop=shop, now=night)
    assert (deferred["sent"], deferred["deferred"]) == (0, 1)
    follow_up = FollowUp.objects.get()
    assert follow_up.status == "pending" and follow_up.reason == "quiet_hours"
    local_due = follow_up.due_at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert (local_due.hour, local_due.date()) == (
        8,
        (night + dt.timedelta(hours=9)).astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date(),
    )
    assert sent_texts(shop) == []
    # Still quiet at 07:00: waits; at 08:00 it goes.
    assert run_follow_ups(shop=shop, now=night + dt.timedelta(hours=8))["sent"] == 0
    assert run_follow_ups(shop=shop, now=night + dt.timedelta(hours=9))["sent"] == 1
    assert FollowUp.objects.get().status == "sent"


def test_an_open_complaint_holds_the_follow_up_until_it_is_resolved(shop, owner):
    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(kind="at_delivery", texts={"en": "Delivered! Is everything fine?"}),
        now=base - dt.timedelta(days=1),
    )
    order_webhook(
        shop, "C-1", paid=base - dt.timedelta(days=5), delivered=base - dt.timedelta(hours=2)
    )
    complaint = open_complaint(
        actor=owner,
        data=ComplaintInput(cause="quality", summary="Cracked lid"),
        order=Order.objects.get(external_id="C-1"),
    )
    at = shop_hour(base, 14)
    held = run_follow_ups(shop=shop, now=at)
    assert (held["sent"], held["deferred"]) == (0, 1)
    assert FollowUp.objects.get().reason == "complaint_open"
    assert sent_texts(shop) == []
    update_complaint(
        actor=owner,
        complaint=complaint,
        change=ComplaintChange(status="resolved", resolution="kept"),
    )
    assert run_follow_ups(shop=shop, now=at + dt.timedelta(minutes=5))["sent"] == 1
    assert sent_texts(shop) == ["Delivered! Is everything fine?"]


def test_a_buyer_who_replied_an_opt_out_word_gets_no_follow_up(shop, owner):
    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=base - dt.timedelta(days=1),
    )
    order_webhook(shop, "O-1", buyer="b-stop")
    buyer_says(shop, "STOP", buyer="b-stop")
    assert OptOut.objects.filter(buyer__external_id="b-stop").exists()
    result = run_follow_ups(shop=shop, now=shop_hour(base, 14))
    assert (result["sent"], result["skipped"]) == (0, 1)
    assert FollowUp.objects.get().reason == "opted_out"
    assert sent_texts(shop) == []


def test_the_review_invitation_goes_n_days_after_delivery_and_old_ones_expire(shop, owner):
    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_days", days=7, texts={"en": "A review would help us."}),
        now=base - dt.timedelta(days=20),
    )
    order_webhook(
        shop, "R-1", paid=base - dt.timedelta(days=12), delivered=base - dt.timedelta(days=6)
    )
    at = shop_hour(base, 14)
    assert run_follow_ups(shop=shop, now=at)["planned"] == 0  # 6 days: not yet
    assert run_follow_ups(shop=shop, now=at + dt.timedelta(days=1))["sent"] == 1
    # Sent as the order's one review invitation, in the rule's words.
    invitation = Message.objects.get(shop=shop, payload__automation="review_invitation")
    assert invitation.text == "A review would help us."
    assert invitation.payload["follow_up"] == "after_days"
    assert ReviewInvitation.objects.filter(order__external_id="R-1").count() == 1
    # A follow-up held past a week (a complaint open all along) is dropped, never sent late.
    order_webhook(
        shop,
        "R-2",
        buyer="b-2",
        paid=base - dt.timedelta(days=12),
        delivered=base - dt.timedelta(days=6),
    )
    open_complaint(
        actor=owner,
        data=ComplaintInput(cause="quality"),
        order=Order.objects.get(external_id="R-2"),
    )
    run_follow_ups(shop=shop, now=at + dt.timedelta(days=1))
    run_follow_ups(shop=shop, now=at + dt.timedelta(days=9))
    late = FollowUp.objects.get(order__external_id="R-2")
    assert (late.status, late.reason) == ("skipped", "expired")


def test_the_beat_task_runs_each_shop_with_rules(shop, owner, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=timezone.now() - dt.timedelta(days=1),
    )
    set_quiet_hours(owner, "00:00", "00:00")
    order_webhook(shop, "T-1")
    assert tasks.follow_ups_all_shops() == 1
    assert FollowUp.objects.get().status == "sent"


def test_an_imported_file_plans_its_follow_ups_at_once(shop, owner, tmp_path):
    from kefu.orders.importers.run import import_orders

    base = timezone.now()
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=base - dt.timedelta(days=1),
    )
    paid = (base - dt.timedelta(hours=2)).astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
    stamp = paid.strftime("%Y/%m/%d %H:%M")
    export = tmp_path / "taobao.csv"
    export.write_text(
        "订单编号,买家会员名,总金额,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝总数量\n"
        f"TB-9,王芳,99.00,99.00,等待卖家发货,{stamp},{stamp},台灯,1\n",
        encoding="utf-8",
    )
    summary = import_orders(shop=shop, path=export)
    assert any("follow-up" in note for note in summary.notes), summary.notes
    assert FollowUp.objects.get().order.external_id == "TB-9"
    import_orders(shop=shop, path=export)
    assert FollowUp.objects.count() == 1


def _both_review_paths_on(shop, owner) -> None:
    """The follow-up rule "review invitation 2 days after delivery" and the reviews page's
    invitation sweep after 2 days, both switched on by the owner."""
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_days", days=2, texts={"en": "Please review your tea."}),
        now=timezone.now() - dt.timedelta(days=20),
    )
    save_review_settings(owner)


def review_invitations_to(order: Order) -> list[str]:
    return list(
        Message.objects.filter(
            shop=order.shop, buyer_id=order.buyer_id, payload__automation="review_invitation"
        ).values_list("text", flat=True)
    )


@pytest.mark.parametrize("first", ["sweep", "follow_up"])
def test_a_buyer_gets_one_review_invitation_per_order_whichever_path_fires(shop, owner, first):
    _both_review_paths_on(shop, owner)
    base = timezone.now()
    order_webhook(
        shop, "RV-1", paid=base - dt.timedelta(days=6), delivered=base - dt.timedelta(days=3)
    )
    order = Order.objects.get(external_id="RV-1")
    at = shop_hour(base, 14)  # outside the shop's quiet hours

    steps = [
        lambda: watch_shop(shop=shop, now=at)["review_invitations"],
        lambda: run_follow_ups(shop=shop, now=at)["sent"],
    ]
    if first == "follow_up":
        steps.reverse()
    assert [step() for step in steps] == [1, 0]
    # Both again, later: nothing more.
    assert watch_shop(shop=shop, now=at + dt.timedelta(hours=1))["review_invitations"] == 0
    assert run_follow_ups(shop=shop, now=at + dt.timedelta(hours=1))["sent"] == 0

    texts = review_invitations_to(order)
    assert len(texts) == 1
    assert ReviewInvitation.objects.filter(order=order).count() == 1
    assert Outbox.objects.filter(message__payload__automation="review_invitation").count() == 1
    follow_up = FollowUp.objects.get(order=order, kind="after_days")
    if first == "sweep":
        assert "Please review" not in texts[0]  # the shop's own invitation went
        assert (follow_up.status, follow_up.reason) == ("skipped", "invited")
        page = login_client(owner).get("/care/follow-ups/", headers={"Accept-Language": "en"})
        assert "already invited to review this order" in page.content.decode()
    else:
        assert texts == ["Please review your tea."]
        assert follow_up.status == "sent"


def test_the_follow_up_review_invitation_keeps_the_once_per_order_rule(shop, owner):
    """Not before delivery (the rule only plans delivered orders), never while a complaint
    is open, not when the order already has an invitation an agent sent."""
    _both_review_paths_on(shop, owner)
    base = timezone.now()
    paid, delivered = base - dt.timedelta(days=6), base - dt.timedelta(days=3)
    order_webhook(shop, "RV-2", paid=paid, delivered=delivered)
    order_webhook(shop, "RV-3", buyer="b-3", paid=paid, delivered=delivered)
    by_agent = login_client(owner).post(
        "/api/v1/care/reviews/invitations",
        data=json.dumps({"order_id": Order.objects.get(external_id="RV-2").pk}),
        content_type="application/json",
    )
    assert by_agent.status_code == 201, by_agent.content
    complaint = open_complaint(
        actor=owner,
        data=ComplaintInput(cause="quality"),
        order=Order.objects.get(external_id="RV-3"),
    )
    at = shop_hour(base, 14)
    assert run_follow_ups(shop=shop, now=at)["sent"] == 0
    assert FollowUp.objects.get(order__external_id="RV-2").reason == "invited"
    assert FollowUp.objects.get(order__external_id="RV-3").reason == "complaint_open"
    update_complaint(
        actor=owner,
        complaint=complaint,
        change=ComplaintChange(status="resolved", resolution="kept"),
    )
    assert run_follow_ups(shop=shop, now=at + dt.timedelta(minutes=5))["sent"] == 1
    assert len(review_invitations_to(Order.objects.get(external_id="RV-2"))) == 1
    assert len(review_invitations_to(Order.objects.get(external_id="RV-3"))) == 1
