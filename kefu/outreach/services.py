"""Writes of the outreach domain (R-37): segments, campaigns and their controls, sending one
campaign step, and the buyer's opt-out."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import string
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.automation.models import AutomationSettings
from kefu.automation.saved_texts import guard_saved_texts
from kefu.automation.selectors import settings_of
from kefu.compliance.services import UnattendedChecks
from kefu.conversations.models import CAMPAIGN_AUTOMATION, Buyer, Direction, Message
from kefu.conversations.outbound import (
    OutreachMessage,
    deliveries_batched,
    send_outreach_messages,
)
from kefu.core.db.bulk import Table
from kefu.outreach import offers
from kefu.outreach.caps import send_budget
from kefu.outreach.models import (
    Campaign,
    CampaignOffer,
    CampaignStatus,
    OptOut,
    Recipient,
    Segment,
)
from kefu.outreach.selectors import SegmentFilters, buyer_zone, segment_buyers

log = logging.getLogger("kefu.outreach")

PLACEHOLDERS = frozenset({"name", "shop"})
MAX_PER_MINUTE = 600


def save_segment(*, actor: User, name: str, filters: SegmentFilters) -> Segment:
    require(actor, Capability.CREATE_CAMPAIGNS)
    name = name.strip()[:120]
    if not name:
        raise ValidationError(_("A segment needs a name."), code="name")
    if filters.is_empty():
        raise ValidationError(_("Choose at least one filter."), code="no_filters")
    shop = shop_of(actor)
    try:
        with transaction.atomic():
            return Segment.objects.create(
                shop=shop,
                name=name,
                filters=filters.as_json(),
                created_by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ValidationError(_("A segment of that name exists."), code="duplicate") from exc


def _check_placeholders(text: str) -> None:
    try:
        fields = {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        raise ValidationError(_("A brace in the message is not closed."), code="braces") from exc
    unknown = fields - PLACEHOLDERS
    if unknown:
        raise ValidationError(
            _("Unknown placeholder: %(p)s (use {name} or {shop})")
            % {"p": ", ".join(sorted(unknown))},
            code="placeholder",
        )


def render_text(text: str, *, buyer: Buyer, shop: Shop) -> str:
    # A buyer without a known name is greeted by their marketplace id (often their nickname).
    return text.format(name=buyer.name or buyer.external_id, shop=shop.name)


def create_campaign(
    *,
    actor: User,
    name: str,
    segment: Segment,
    texts: dict[str, str],
    language_order: list[str],
    starts_at: dt.datetime,
    window_start: int = 9,
    window_end: int = 21,
    per_minute: int = 20,
    texts_b: dict[str, str] | None = None,
    offer: offers.OfferIn | None = None,
) -> Campaign:
    """A campaign ready to send from ``starts_at``; every variant passes the rule guard first
    (refused here, where the owner can reword it, rather than dropped per buyer), with the
    coupon or product card the message carries as each language's buyer would read it."""
    require(actor, Capability.CREATE_CAMPAIGNS)
    shop = shop_of(actor)
    if segment.shop_id != shop.pk:
        raise PermissionDenied("segment of another shop")
    name = name.strip()[:120]
    if not name:
        raise ValidationError(_("A campaign needs a name."), code="name")
    variants = {k.strip().lower()[:10]: v.strip() for k, v in texts.items() if v and v.strip()}
    if not variants:
        raise ValidationError(_("Write the message in at least one language."), code="empty")
    b_variants = {
        k.strip().lower()[:10]: v.strip() for k, v in (texts_b or {}).items() if v and v.strip()
    }
    if set(b_variants) - set(variants):
        raise ValidationError(
            _("A second (B) variant needs the first (A) one in the same language."), code="ab"
        )
    for text in [*variants.values(), *b_variants.values()]:
        _check_placeholders(text)
    order = [code.strip().lower() for code in language_order if code.strip().lower() in variants]
    order += [code for code in sorted(variants) if code not in order]
    if not (0 <= window_start < window_end <= 24):
        raise ValidationError(
            _("The sending window is from one hour to a later one, 0–24."), code="window"
        )
    if not (1 <= per_minute <= MAX_PER_MINUTE):
        raise ValidationError(
            _("Messages per minute must be between 1 and %(max)s.") % {"max": MAX_PER_MINUTE},
            code="throttle",
        )
    if timezone.is_naive(starts_at):
        raise ValidationError(_("The start time needs a time zone."), code="start")
    try:
        # Stored in UTC: PostgreSQL refuses offsets past ±15:59 that ISO 8601 allows.
        starts_at = starts_at.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValidationError(_("The start time is out of range."), code="start") from exc
    extra = offers.checked_offer(shop=shop, offer=offer) if offer is not None else None
    # The guard sees the text as the buyer reads it, placeholders filled with neutral words.
    guard_saved_texts(
        actor=actor,
        texts=[
            (label, text.format(name="Anna", shop=shop.name))
            for label, text in [
                *variants.items(),
                *((f"{lang} B", text) for lang, text in b_variants.items()),
            ]
        ]
        + offers.guard_texts(extra, list(variants), settings_of(shop)),
        source="system",
    )
    with transaction.atomic():
        campaign = _create(
            shop,
            actor,
            name,
            segment,
            variants,
            b_variants,
            order,
            starts_at,
            window_start,
            window_end,
            per_minute,
        )
        if extra is not None:
            extra.campaign = campaign
            extra.save()
    return campaign


def _create(
    shop: Shop,
    actor: User,
    name: str,
    segment: Segment,
    variants: dict[str, str],
    b_variants: dict[str, str],
    order: list[str],
    starts_at: dt.datetime,
    window_start: int,
    window_end: int,
    per_minute: int,
) -> Campaign:
    return Campaign.objects.create(
        shop=shop,
        name=name,
        segment=segment,
        texts=variants,
        texts_b=b_variants,
        language_order=order,
        starts_at=starts_at,
        window_start=window_start,
        window_end=window_end,
        per_minute=per_minute,
        created_by=actor,
        created_at=timezone.now(),
    )


_MOVES = {
    "pause": ({CampaignStatus.SCHEDULED}, CampaignStatus.PAUSED),
    "resume": ({CampaignStatus.PAUSED}, CampaignStatus.SCHEDULED),
    "cancel": ({CampaignStatus.SCHEDULED, CampaignStatus.PAUSED}, CampaignStatus.CANCELLED),
}


def control_campaign(*, actor: User, campaign: Campaign, action: str) -> Campaign:
    """Pause, resume or cancel. Who was sent to is kept in `Recipient`, so a resumed campaign
    carries on with the buyers not reached yet and never repeats one."""
    require(actor, Capability.CREATE_CAMPAIGNS)
    if campaign.shop_id != shop_of(actor).pk:
        raise PermissionDenied("campaign of another shop")
    if action not in _MOVES:
        raise ValidationError(_("Unknown action."), code="action")
    allowed, target = _MOVES[action]
    moved = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(status=target)
    if not moved:
        raise ValidationError(
            _("A %(status)s campaign cannot be changed that way.")
            % {"status": campaign.get_status_display().lower()},
            code="state",
        )
    campaign.refresh_from_db()
    return campaign


def choose_language(campaign: Campaign, buyer: Buyer) -> str:
    """The buyer's own language when the campaign has it, else the owner's fallback order."""
    lang = (buyer.language or "").lower()
    for candidate in (lang, lang.split("-")[0]):
        if candidate and candidate in campaign.texts:
            return candidate
    return str(campaign.language_order[0])


def choose_variant(campaign: Campaign, buyer: Buyer, language: str) -> str:
    """A or B, at random but fixed per (campaign, buyer): a re-run or a restarted worker
    puts the buyer in the same half."""
    if language not in campaign.texts_b:
        return "A"
    digest = hashlib.sha256(f"{campaign.pk}:{buyer.pk}".encode()).digest()
    return "B" if digest[0] & 1 else "A"


def _in_window(campaign: Campaign, buyer: Buyer, now: dt.datetime) -> bool:
    local = now.astimezone(buyer_zone(buyer, campaign.shop))
    return campaign.window_start <= local.hour < campaign.window_end


# Buyers per transaction: a round's conversations, messages, outbox rows, events and
# recipient rows go in with one multi-row statement each, and a killed worker loses at most
# a round that then rolls back whole (tests/outreach/test_killed_worker.py sets it lower).
SEND_ROUND = 500


def send_campaign_step(*, campaign: Campaign, now: dt.datetime | None = None) -> int:
    """Send to the segment's buyers not reached yet whose local time is inside the window, as
    many as the shop's per-minute throttle leaves (every campaign of the shop shares it),
    never past the marketplace's caps (``kefu.outreach.caps``).
    Set-based, a round of buyers per transaction; safe to run again, concurrently or after a
    crash: the unique recipient rows are written in the messages' transaction."""
    now = now or timezone.now()
    campaign.refresh_from_db()
    if campaign.status != CampaignStatus.SCHEDULED or campaign.starts_at > now:
        return 0
    shop = campaign.shop
    budget = send_budget(shop=shop, per_minute=campaign.per_minute, now=now)
    if budget <= 0:
        return 0
    context = _SendContext.of(campaign)
    filters = SegmentFilters.from_json(campaign.segment.filters)
    # Opt-outs and open complaints are left out by the segment's query, read now.
    candidates = (
        segment_buyers(shop=shop, filters=filters)
        .exclude(pk__in=Recipient.objects.filter(campaign=campaign).values("buyer_id"))
        .only("pk", "shop_id", "external_id", "name", "language", "country")
        .iterator(chunk_size=SEND_ROUND)
    )
    sent = 0
    picked = 0
    batch: list[Buyer] = []
    for buyer in candidates:
        if picked >= budget:
            break
        if not _in_window(campaign, buyer, now):
            continue
        batch.append(buyer)
        picked += 1
        if len(batch) >= SEND_ROUND:
            sent += _send_round(campaign, batch, now, context)
            batch = []
    if batch:
        sent += _send_round(campaign, batch, now, context)
    return sent


@dataclass(frozen=True)
class _SendContext:
    """What every message of one step shares, read once per step rather than per buyer."""

    group: str
    offer: CampaignOffer | None
    conf: AutomationSettings
    checks: UnattendedChecks

    @classmethod
    def of(cls, campaign: Campaign) -> _SendContext:
        shop = campaign.shop
        # Replies land with the outreach group when the shop has one, else with pre-sale.
        has_group = shop.members.filter(in_outreach=True, is_active=True).exists()
        return cls(
            group=ServiceGroup.OUTREACH if has_group else ServiceGroup.PRE_SALE,
            offer=CampaignOffer.objects.filter(campaign=campaign)
            .select_related("product", "shop")
            .first(),
            conf=settings_of(shop),
            checks=UnattendedChecks(),
        )


_RECIPIENTS = Table(Recipient)


def _send_round(
    campaign: Campaign, buyers: list[Buyer], now: dt.datetime, context: _SendContext
) -> int:
    """One transaction for the round's buyers. A concurrent run that reached some of them
    first makes the round's insert fail as a whole: the round is rolled back and tried again
    without them."""
    for _attempt in range(3):
        try:
            # One delivery task for the round's messages, enqueued on commit (a row whose
            # task is lost with a killed worker stays pending and the outbox sweeper sends it).
            with transaction.atomic(), deliveries_batched():
                return _write_round(campaign, buyers, now, context)
        except IntegrityError:
            reached = set(
                Recipient.objects.filter(
                    campaign=campaign, buyer_id__in=[b.pk for b in buyers]
                ).values_list("buyer_id", flat=True)
            )
            buyers = [b for b in buyers if b.pk not in reached]
            if not buyers:
                return 0
    log.warning("campaign_round_conflict campaign=%s buyers=%s", campaign.pk, len(buyers))
    return 0  # the next step sends to them


def _write_round(
    campaign: Campaign, buyers: list[Buyer], now: dt.datetime, context: _SendContext
) -> int:
    shop = campaign.shop
    items = []
    chosen = []
    for buyer in buyers:
        language = choose_language(campaign, buyer)
        variant = choose_variant(campaign, buyer, language)
        texts = campaign.texts_b if variant == "B" else campaign.texts
        parts = offers.message_parts(
            intro=render_text(texts[language], buyer=buyer, shop=shop),
            offer=context.offer,
            language=language,
            conf=context.conf,
        )
        chosen.append((language, variant))
        items.append(
            OutreachMessage(
                buyer_id=buyer.pk,
                text=parts.text,
                dedupe_key=f"campaign:{campaign.pk}:buyer:{buyer.pk}",
                kind=parts.kind,
                payload={
                    **parts.payload,
                    "campaign_id": campaign.pk,
                    "language": language,
                    "variant": variant,
                },
            )
        )
    messages = send_outreach_messages(
        shop=shop,
        group=context.group,
        automation=CAMPAIGN_AUTOMATION,
        items=items,
        checks=context.checks,
    )
    _RECIPIENTS.insert(
        ["shop_id", "campaign_id", "buyer_id", "language", "variant", "message_id", "blocked",
         "sent_at"],
        [
            [shop.pk, campaign.pk, buyer.pk, language, variant,
             message.pk if message else None, message is None, now]
            for buyer, (language, variant), message in zip(buyers, chosen, messages, strict=True)
        ],
        now=now,
    )  # fmt: skip
    return sum(1 for message in messages if message is not None)


# --- opt-out --------------------------------------------------------------------------------

# A reply that is only an opt-out word (with punctuation): "STOP", "退订", "отписаться", "baja".
# A sentence that merely contains "stop" ("stop sending me the wrong size") is not an opt-out.
_OPT_OUT = re.compile(
    r"^\W*(stop|unsubscribe|opt[ -]?out|td|退订|取消订阅|不要再发|отписаться|отписка|стоп|"
    r"baja|darme de baja|cancelar suscripci[oó]n|no más mensajes)\W*$",
    re.IGNORECASE,
)


def is_opt_out(text: str) -> bool:
    return bool(_OPT_OUT.match(text.strip()[:80]))


def record_opt_out(*, shop: Shop, buyer: Buyer, text: str, at: dt.datetime) -> OptOut:
    """The buyer gets no more campaign messages from the shop (every campaign, now and later)."""
    if buyer.shop_id != shop.pk:
        raise PermissionDenied("buyer of another shop")
    last = (
        Recipient.objects.filter(shop=shop, buyer=buyer, message__isnull=False)
        .order_by("-sent_at")
        .first()
    )
    opt_out, _created = OptOut.objects.get_or_create(
        buyer=buyer,
        defaults={
            "shop": shop,
            "campaign_id": last.campaign_id if last else None,
            "text": text[:200],
            "created_at": at,
        },
    )
    return opt_out


def on_message_saved(sender: Any, instance: Message, created: bool, **kwargs: Any) -> None:
    """post_save hook: a buyer's new message that is an opt-out word records the opt-out."""
    if not created or kwargs.get("raw") or instance.direction != Direction.BUYER:
        return
    if not is_opt_out(instance.text or ""):
        return
    record_opt_out(
        shop=instance.conversation.shop,
        buyer=instance.buyer,
        text=instance.text,
        at=instance.sent_at,
    )
