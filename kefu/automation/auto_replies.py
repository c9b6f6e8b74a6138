"""Automatic replies to a buyer message: welcome, out of hours and keyword replies (R-07, R-08)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.db import transaction

from kefu.accounts.models import Shop
from kefu.automation import selectors
from kefu.automation.business_hours import Interval, is_open, local_moment
from kefu.automation.buyer_language import update_detected_language
from kefu.automation.buyer_state import locked_buyer_state
from kefu.automation.coupons import buyer_facing_language, coupon_offer
from kefu.automation.models import (
    MIN_ACTIVE_RULES,
    AutomationHit,
    AutomationSettings,
    BuyerAutomationState,
    HitKind,
    KeywordRule,
    ReplyType,
)
from kefu.automation.outcomes import note_buyer_reply
from kefu.conversations.media import ImageRefused, image_payload, publish_image
from kefu.conversations.models import Buyer, Direction, Message, MessageKind
from kefu.conversations.outbound import store_automatic_reply

if TYPE_CHECKING:
    from kefu.automation.auto_replies_batch import ReplyBatch

log = logging.getLogger("kefu.automation")

WELCOME_WINDOW = dt.timedelta(hours=24)


def _auto_message(
    *,
    trigger: Message,
    kind: str,
    text: str,
    payload: dict[str, object],
    batch: ReplyBatch | None,
) -> Message | None:
    if batch is None:
        return store_automatic_reply(trigger=trigger, kind=kind, text=text, payload=dict(payload))
    # The batch inserts its replies together, at the end of each round.
    return store_automatic_reply(
        trigger=trigger,
        kind=kind,
        text=text,
        payload=dict(payload),
        checks=batch.checks,
        save=False,
    )


def _hit(
    *,
    kind: str,
    trigger: Message,
    reply: Message,
    batch: ReplyBatch | None,
    rule: KeywordRule | None = None,
) -> AutomationHit:
    hit = AutomationHit(
        shop_id=trigger.shop_id,
        kind=kind,
        conversation_id=trigger.conversation_id,
        buyer_id=trigger.buyer_id,
        trigger_message=trigger,
        reply_message=reply,
        rule=rule,
        keyword=rule.keyword if rule is not None else "",
        created_at=reply.sent_at,
    )
    if batch is None:
        hit.save(force_insert=True)
    else:
        batch.add(reply, hit)
    return hit


def _reply_language(state: BuyerAutomationState, buyer: Buyer) -> str:
    """The language an automatic reply is written in: the agent's correction, then what this
    buyer's messages read as, then what the marketplace said."""
    if state.language:
        return state.language
    given = buyer.language.strip().lower()
    return "zh-hans" if given.startswith("zh") else given[:2]


def _welcome_due(
    conf: AutomationSettings, message: Message, text: str, batch: ReplyBatch | None
) -> bool:
    if not (conf.welcome_enabled and text):
        return False
    if batch is not None:
        return batch.first_in_welcome_window(message)
    # the buyer's first message in the last 24 hours, across all their conversations
    # with this shop. A message exactly 24 h old is outside the window.
    earlier = Message.objects.filter(
        shop_id=message.shop_id,
        buyer_id=message.buyer_id,
        direction=Direction.BUYER,
        sent_at__gt=message.sent_at - WELCOME_WINDOW,
        sent_at__lte=message.sent_at,
    ).exclude(pk=message.pk)
    return not earlier.exists()


def _out_of_hours_day(
    conf: AutomationSettings,
    state: BuyerAutomationState,
    message: Message,
    shop: Shop,
    text: str,
    lookups: Lookups,
) -> dt.date | None:
    """The shop-local day to record when an out-of-hours reply is due, else None."""
    if not (conf.out_of_hours_enabled and text):
        return None
    schedule = lookups.schedule(shop)
    if not schedule:
        return None  # no schedule set: the shop has not said when it is closed
    local_day = local_moment(message.sent_at, shop.timezone).date()
    if state.out_of_hours_day == local_day:
        return None
    if is_open(
        moment=message.sent_at,
        tz_name=shop.timezone,
        schedule=schedule,
        holidays=lookups.holidays(shop, local_day),
    ):
        return None
    if conf.agent_quiet_minutes:
        recent_agent = Message.objects.filter(
            shop_id=message.shop_id,
            buyer_id=message.buyer_id,
            direction=Direction.AGENT,
            sent_at__gte=message.sent_at - dt.timedelta(minutes=conf.agent_quiet_minutes),
            sent_at__lte=message.sent_at,
        ).exists()
        if recent_agent:
            return None
    return local_day


def _keyword_reply(
    trigger: Message, rule: KeywordRule, language: str, batch: ReplyBatch | None
) -> Message | None:
    payload: dict[str, object] = {
        "automation": HitKind.KEYWORD.value,
        "rule_id": rule.pk,
        "keyword": rule.keyword,
        "reply_to": trigger.pk,
    }
    if rule.reply_type == ReplyType.IMAGE:
        # The buyer's channel fetches the image from its public address (decisions §32).
        try:
            with rule.image.open("rb") as source:
                media = publish_image(shop=rule.shop, source=source, uploaded_by=None)
        except (OSError, ImageRefused):
            # A file lost or damaged on disk: no empty bubble for the buyer; a person answers.
            log.exception("keyword_image_unavailable rule=%s", rule.pk)
            return None
        payload["image"] = image_payload(media)
        return _auto_message(
            trigger=trigger, kind=MessageKind.IMAGE, text="", payload=payload, batch=batch
        )
    if rule.reply_type == ReplyType.COUPON:
        if rule.coupon_value is None:
            return None  # the model's constraint forbids it; a person answers instead
        shop = rule.shop
        offer = coupon_offer(
            code=rule.coupon_code,
            value=rule.coupon_value,
            currency=rule.coupon_currency,
            valid_until=rule.coupon_valid_until,
            min_spend=rule.coupon_min_spend,
            shop_currency=shop.currency,
            shop_timezone=shop.timezone,
            language=language,
        )
        payload["coupon"] = offer.fields
        text = offer.text
        return _auto_message(
            trigger=trigger, kind=MessageKind.COUPON, text=text, payload=payload, batch=batch
        )
    return _auto_message(
        trigger=trigger, kind=MessageKind.TEXT, text=rule.text, payload=payload, batch=batch
    )


class Lookups:
    """What every message of a shop reads the same: settings, business hours, holidays and the
    live keyword set. The per-message path makes one per message; the intake worker keeps one
    per batch, so a batch reads them once per shop (issue 15)."""

    def __init__(self) -> None:
        self._settings: dict[int, AutomationSettings] = {}
        self._schedule: dict[int, list[Interval]] = {}
        self._holidays: dict[tuple[int, dt.date], list[dt.date]] = {}
        self._keywords: dict[int, selectors.LiveKeywords] = {}

    def settings(self, shop: Shop) -> AutomationSettings:
        if shop.pk not in self._settings:
            self._settings[shop.pk] = selectors.settings_of(shop)
        return self._settings[shop.pk]

    def schedule(self, shop: Shop) -> list[Interval]:
        if shop.pk not in self._schedule:
            self._schedule[shop.pk] = selectors.schedule_of(shop)
        return self._schedule[shop.pk]

    def holidays(self, shop: Shop, day: dt.date) -> list[dt.date]:
        key = (shop.pk, day)
        if key not in self._holidays:
            self._holidays[key] = selectors.holidays_of(shop, around=day)
        return self._holidays[key]

    def keywords(self, shop: Shop) -> selectors.LiveKeywords:
        if shop.pk not in self._keywords:
            self._keywords[shop.pk] = selectors.live_keywords(shop)
        return self._keywords[shop.pk]


def automatic_replies_for(*, message: Message, batch: ReplyBatch | None = None) -> list[Message]:
    """Decide and create the automatic replies to one stored buyer message (R-07, R-08).

    Call it inside message intake, in the same transaction that stored `message`, after the
    conversation's unread/waiting state was updated for it. It returns the new Message rows
    (direction "auto", payload {"automation": "welcome"|"out_of_hours"|"keyword",
    "rule_id": ..., "reply_to": message id}) in sending order. It never touches the
    conversation: the buyer's message stays unread and waiting for a person. The caller
    sends the returned messages (``kefu.conversations.outbound.queue_automatic_replies``).

    Also: records that the buyer answered earlier auto-replies and script uses of this
    conversation (R-14) and updates the buyer's detected language (R-11). Locks the buyer's
    automation row, so concurrent messages of one buyer are decided one after the other.

    ``batch``: the intake worker's set-based batch, which locked the buyers' rows, noted the
    buyer replies and read the welcome window for the whole batch; it saves the rows once.
    """
    if message.direction != Direction.BUYER:
        return []
    shop = message.shop
    replies: list[Message] = []
    # In a batch, a failure rolls the whole batch back and the worker retries it per message.
    with transaction.atomic() if batch is None else contextlib.nullcontext():
        if batch is None:
            lookups = Lookups()
            state = locked_buyer_state(shop=shop, buyer=message.buyer)
            note_buyer_reply(message)
        else:
            lookups = batch.lookups
            state = batch.state_of(message.buyer_id)
        conf = lookups.settings(shop)
        if message.kind == MessageKind.TEXT and message.text:
            update_detected_language(
                state=state,
                buyer=message.buyer,
                text=message.text,
                languages=frozenset(conf.language_list()),
                # The batch writes each buyer's last language once (``set_languages``).
                write=batch is None,
            )
        language = _reply_language(state, message.buyer)
        welcome_text = conf.welcome_for(language)
        if _welcome_due(conf, message, welcome_text, batch):
            reply = _auto_message(
                trigger=message,
                kind=MessageKind.TEXT,
                text=welcome_text,
                payload={
                    "automation": HitKind.WELCOME.value,
                    "rule_id": None,
                    "reply_to": message.pk,
                },
                batch=batch,
            )
            if reply is not None:  # None: the rule guard blocked it
                _hit(kind=HitKind.WELCOME, trigger=message, reply=reply, batch=batch)
                state.last_welcome_at = reply.sent_at
                replies.append(reply)
        out_of_hours_text = conf.out_of_hours_for(language)
        ooh_day = _out_of_hours_day(conf, state, message, shop, out_of_hours_text, lookups)
        if ooh_day is not None:
            reply = _auto_message(
                trigger=message,
                kind=MessageKind.TEXT,
                text=out_of_hours_text,
                payload={
                    "automation": HitKind.OUT_OF_HOURS.value,
                    "rule_id": None,
                    "reply_to": message.pk,
                },
                batch=batch,
            )
            if reply is not None:  # None: the rule guard blocked it
                _hit(kind=HitKind.OUT_OF_HOURS, trigger=message, reply=reply, batch=batch)
                state.out_of_hours_day = ooh_day
                replies.append(reply)
        if conf.keyword_replies_enabled and message.kind == MessageKind.TEXT and message.text:
            live = lookups.keywords(shop)
            # A set below the minimum is never live; check anyway for rows written by hand.
            if len(live.rules) >= MIN_ACTIVE_RULES:
                found = live.matcher.match(message.text)
                if found is not None:
                    rule = live.rules[found.rule_id]
                    keyword_reply = _keyword_reply(
                        message, rule, buyer_facing_language(language, conf), batch
                    )
                    if keyword_reply is not None:
                        _hit(
                            kind=HitKind.KEYWORD,
                            trigger=message,
                            reply=keyword_reply,
                            batch=batch,
                            rule=rule,
                        )
                        replies.append(keyword_reply)
        if batch is None:
            state.save()
        else:
            return replies  # saved, and logged, with the batch's round (``ReplyBatch.flush``)
    for reply in replies:
        log.info(
            "automation.auto_reply shop=%s conversation=%s kind=%s message=%s",
            shop.pk,
            message.conversation_id,
            reply.payload.get("automation"),
            reply.pk,
        )
    return replies
