"""Consultation invitations (R-38): the owner's invitation (text per language, optional
coupon, when and where), which one a browsing buyer gets, shown / accepted, and the figures.

A browser is known by the widget's signed buyer id ("w-…") before it ever writes, so the
cooling-off period holds per browser; once accepted the display also names the Buyer, whose
orders within 48 h of the acceptance are the invitation's conversions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.automation.coupons import PERCENT, buyer_facing_language, coupon_offer
from kefu.automation.saved_texts import guard_saved_texts
from kefu.automation.selectors import settings_of
from kefu.conversations.buyers import BuyerIn, upsert_buyers
from kefu.conversations.models import Buyer, EntryPoint, MessageKind
from kefu.conversations.outbound import conversation_for_outreach, send_system_message
from kefu.integrations.channels import Channel
from kefu.orders.models import Order
from kefu.outreach.models import (
    Invitation,
    InvitationDisplay,
    InvitationPlacement,
    InvitationTrigger,
)
from kefu.outreach.results import ABComparison, compare_rates
from kefu.outreach.services import record_opt_out

# Orders within this long after an acceptance are the invitation's conversions.
CONVERSION_WINDOW = dt.timedelta(hours=48)
LANGUAGES = ("en", "zh", "ru", "es")
MAX_DELAY_SECONDS = 3600
MAX_COOLING_OFF_HOURS = 24 * 90


@dataclass(frozen=True)
class InvitationInput:
    name: str
    texts: dict[str, str]
    trigger: str = InvitationTrigger.DELAY
    delay_seconds: int = 20
    placement: str = InvitationPlacement.PRODUCT_PAGES
    products: tuple[str, ...] = ()
    cooling_off_hours: int = 24
    active: bool = True
    coupon_code: str = ""
    coupon_value: Decimal | None = None
    coupon_currency: str = ""
    coupon_min_spend: Decimal | None = None
    coupon_valid_until: dt.date | None = None
    # A second text per language for an A/B test (the same languages as `texts`), or none.
    texts_b: dict[str, str] = field(default_factory=dict)


def _language(code: str) -> str:
    code = code.strip().lower()
    return "zh" if code.startswith("zh") else code[:2]


def _coupon(data: InvitationInput) -> dict[str, Any]:
    code = data.coupon_code.strip()
    if not code:
        return {}
    if len(code) > 100:
        raise ValidationError(_("The coupon code is too long."), code="coupon")
    if data.coupon_value is None or data.coupon_value <= 0:
        raise ValidationError(_("A coupon needs a value above zero."), code="coupon")
    currency = data.coupon_currency.strip().upper()
    if currency != PERCENT and not (len(currency) == 3 and currency.isalpha()):
        raise ValidationError(
            _("The coupon currency is a three-letter code, or the percent sign for a percentage."),
            code="coupon",
        )
    if currency == PERCENT and data.coupon_value >= 100:
        raise ValidationError(_("A percentage coupon is under 100 percent."), code="coupon")
    if data.coupon_valid_until is None:
        raise ValidationError(_("A coupon needs its last valid day."), code="coupon")
    try:
        value = data.coupon_value.quantize(Decimal("0.01"))
        min_spend = (
            data.coupon_min_spend.quantize(Decimal("0.01"))
            if data.coupon_min_spend is not None
            else None
        )
    except InvalidOperation as exc:
        raise ValidationError(_("The coupon amount is out of range."), code="coupon") from exc
    if value >= Decimal("1e10") or (min_spend is not None and not 0 <= min_spend < 10**10):
        raise ValidationError(_("The coupon amount is out of range."), code="coupon")
    return {
        "code": code,
        "value": str(value),
        "currency": currency,
        "min_spend": str(min_spend) if min_spend is not None else None,
        "valid_until": data.coupon_valid_until.isoformat(),
    }


def save_invitation(
    *, actor: User, data: InvitationInput, invitation: Invitation | None = None
) -> Invitation:
    """Create or change an invitation; every text passes the rule guard first, so an
    invitation breaking a platform rule is refused with the reason and nothing is saved."""
    require(actor, Capability.CREATE_CAMPAIGNS)
    shop = shop_of(actor)
    if invitation is not None and invitation.shop_id != shop.pk:
        raise PermissionDenied("invitation of another shop")
    name = data.name.strip()[:120]
    if not name:
        raise ValidationError(_("An invitation needs a name."), code="name")
    texts = {_language(k): v.strip() for k, v in data.texts.items() if v and v.strip()}
    if not texts:
        raise ValidationError(_("Write the invitation in at least one language."), code="empty")
    unknown = set(texts) - set(LANGUAGES)
    if unknown:
        raise ValidationError(
            _("The widget speaks English, Chinese, Russian and Spanish, not: %(codes)s")
            % {"codes": ", ".join(sorted(unknown))},
            code="language",
        )
    texts_b = {_language(k): v.strip() for k, v in data.texts_b.items() if v and v.strip()}
    if texts_b and set(texts_b) != set(texts):
        # A browser in the B half reads B in its own language, never A in its place.
        raise ValidationError(
            _("The second (B) text needs the same languages as the first (A) one."), code="ab"
        )
    if any(len(t) > 500 for t in [*texts.values(), *texts_b.values()]):
        raise ValidationError(_("An invitation is at most 500 characters."), code="too_long")
    if data.trigger not in InvitationTrigger.values:
        raise ValidationError(_("Choose when the invitation appears."), code="trigger")
    if data.placement not in InvitationPlacement.values:
        raise ValidationError(_("Choose where the invitation appears."), code="placement")
    if not 0 <= data.delay_seconds <= MAX_DELAY_SECONDS:
        raise ValidationError(
            _("The delay is between 0 and %(max)s seconds.") % {"max": MAX_DELAY_SECONDS},
            code="delay",
        )
    if not 1 <= data.cooling_off_hours <= MAX_COOLING_OFF_HOURS:
        raise ValidationError(
            _("The cooling-off period is between 1 and %(max)s hours.")
            % {"max": MAX_COOLING_OFF_HOURS},
            code="cooling_off",
        )
    products = tuple(dict.fromkeys(p.strip()[:80] for p in data.products if p.strip()))
    if data.placement == InvitationPlacement.PRODUCTS and not products:
        raise ValidationError(_("Name the products the invitation is for."), code="products")
    if len(products) > 200:
        raise ValidationError(_("At most 200 products."), code="products")
    coupon = _coupon(data)
    guard_saved_texts(
        actor=actor,
        texts=[
            *((lang, text) for lang, text in texts.items()),
            *((f"{lang} B", text) for lang, text in texts_b.items()),
        ],
        source="system",
    )
    fields = {
        "name": name,
        "texts": texts,
        "texts_b": texts_b,
        "coupon": coupon,
        "trigger": data.trigger,
        "delay_seconds": data.delay_seconds,
        "placement": data.placement,
        "products": list(products),
        "cooling_off_hours": data.cooling_off_hours,
        "active": data.active,
    }
    try:
        with transaction.atomic():
            if invitation is None:
                return Invitation.objects.create(
                    shop=shop, created_by=actor, created_at=timezone.now(), **fields
                )
            for key, value in fields.items():
                setattr(invitation, key, value)
            invitation.save()
            return invitation
    except IntegrityError as exc:
        raise ValidationError(_("An invitation of that name exists."), code="duplicate") from exc


def _applies(invitation: Invitation, product: str) -> bool:
    if invitation.placement == InvitationPlacement.ALL_PAGES:
        return True
    if invitation.placement == InvitationPlacement.PRODUCT_PAGES:
        return bool(product)
    return bool(product) and product in invitation.products


def _recently_shown(shop: Shop, visitor: str, hours: int, now: dt.datetime) -> bool:
    return InvitationDisplay.objects.filter(
        shop=shop, visitor=visitor, shown_at__gt=now - dt.timedelta(hours=hours)
    ).exists()


def invitation_for(
    *, shop: Shop, visitor: str | None, product: str = "", now: dt.datetime | None = None
) -> Invitation | None:
    """The invitation this browser may be shown on this page now: the newest active one for
    the page, unless the browser was shown one within that invitation's cooling-off period.
    A first visit has no widget id yet (the page sets it): nothing was shown to it."""
    now = now or timezone.now()
    for invitation in Invitation.objects.filter(shop=shop, active=True).order_by("-created_at"):
        if _applies(invitation, product):
            if visitor and _recently_shown(shop, visitor, invitation.cooling_off_hours, now):
                return None
            return invitation
    return None


def record_shown(
    *, shop: Shop, invitation: Invitation, visitor: str, product: str = ""
) -> InvitationDisplay:
    """The widget showed the invitation. Refused (nothing written) when the browser already
    saw one within the cooling-off period: another tab or a replayed request shows nothing."""
    if invitation.shop_id != shop.pk:
        raise PermissionDenied("invitation of another shop")
    now = timezone.now()
    product = product.strip()[:80]
    if not invitation.active or not _applies(invitation, product):
        raise ValidationError(_("This invitation is not for this page."), code="not_here")
    with transaction.atomic():
        # One browser's displays are serialised on the invitation row: two tabs racing both
        # pass the cooling-off check only without this lock.
        Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if _recently_shown(shop, visitor, invitation.cooling_off_hours, now):
            raise ValidationError(_("Already shown to this buyer."), code="cooling_off")
        return InvitationDisplay.objects.create(
            shop=shop,
            invitation=invitation,
            visitor=visitor[:120],
            variant=invitation_variant(invitation, visitor[:120]),
            product_external_id=product,
            shown_at=now,
        )


def _offer(invitation: Invitation, shop: Shop, language: str) -> dict[str, Any] | None:
    c = invitation.coupon
    if not c.get("code"):
        return None
    offer = coupon_offer(
        code=c["code"],
        value=Decimal(c["value"]),
        currency=c["currency"],
        valid_until=dt.date.fromisoformat(c["valid_until"]) if c.get("valid_until") else None,
        min_spend=Decimal(c["min_spend"]) if c.get("min_spend") else None,
        shop_currency=shop.currency,
        shop_timezone=shop.timezone,
        language=language,
    )
    return {"text": offer.text, "fields": offer.fields}


def invitation_variant(invitation: Invitation, visitor: str | None) -> str:
    """A or B, at random but fixed per (invitation, browser): every page, tab and reload of
    one browser shows it the same text, and its acceptance counts for that text."""
    if not invitation.texts_b or not visitor:
        return "A"
    digest = hashlib.sha256(f"invitation:{invitation.pk}:{visitor}".encode()).digest()
    return "B" if digest[0] & 1 else "A"


def invitation_text(invitation: Invitation, language: str, variant: str = "A") -> str:
    """The variant's text in the buyer's language, else the shop's first language that has
    one (both variants have the same languages)."""
    texts = invitation.texts_b if variant == "B" and invitation.texts_b else invitation.texts
    code = _language(language)
    if code in texts:
        return str(texts[code])
    for fallback in LANGUAGES:
        if fallback in texts:
            return str(texts[fallback])
    return ""


def coupon_preview(invitation: Invitation, shop: Shop, language: str) -> dict[str, Any] | None:
    """The coupon as the widget shows it beside the invitation: the offer card's fields and
    its sentences ({"fields", "text"}), in the buyer's language."""
    return _offer(invitation, shop, language)


def accept_invitation(
    *, shop: Shop, invitation: Invitation, visitor: str, language: str = ""
) -> InvitationDisplay:
    """The buyer took the invitation: a widget conversation opens with the invitation (and its
    coupon) as the shop's first message, tagged with the invitation in its timeline."""
    if invitation.shop_id != shop.pk:
        raise PermissionDenied("invitation of another shop")
    now = timezone.now()
    display = (
        InvitationDisplay.objects.filter(
            shop=shop,
            invitation=invitation,
            visitor=visitor,
            shown_at__gt=now - dt.timedelta(hours=invitation.cooling_off_hours),
        )
        .order_by("-shown_at")
        .first()
    )
    if display is None:
        raise ValidationError(_("This invitation was not shown to you."), code="not_shown")
    if display.accepted_at is not None:
        return display
    code = buyer_facing_language(language, settings_of(shop))
    ids = upsert_buyers(
        shop=shop, seen=[(BuyerIn(external_id=visitor, language=_language(code)), now)], live=True
    )
    buyer = Buyer.objects.get(pk=ids[visitor], shop=shop)
    conversation = conversation_for_outreach(
        shop=shop,
        buyer=buyer,
        group=ServiceGroup.PRE_SALE,
        channel=Channel.WIDGET,
        entry_point=EntryPoint.WIDGET,
        reason="invitation",
    )
    offer = _offer(invitation, shop, code)
    text = invitation_text(invitation, code, display.variant)
    payload: dict[str, Any] = {"invitation_id": invitation.pk, "variant": display.variant}
    if offer is not None:
        text = f"{text}\n{offer['text']}"
        payload["coupon"] = offer["fields"]
    send_system_message(
        conversation=conversation,
        text=text,
        automation="invitation",
        dedupe_key=f"invitation:{display.pk}",
        kind=MessageKind.COUPON if offer is not None else MessageKind.TEXT,
        payload=payload,
    )
    InvitationDisplay.objects.filter(pk=display.pk, accepted_at__isnull=True).update(
        accepted_at=now, buyer=buyer, conversation=conversation
    )
    display.refresh_from_db()
    return display


@dataclass(frozen=True)
class VariantFigures:
    variant: str
    shown: int
    accepted: int
    converted: int


@dataclass(frozen=True)
class InvitationFigures:
    invitation_id: int
    shown: int
    accepted: int
    converted: int
    orders: int
    gmv: Decimal
    # Per text (A, and B when the invitation has one), and B against A: accepted per shown
    # and converted per shown, with the campaigns' significance test.
    variants: tuple[VariantFigures, ...] = ()
    comparisons: tuple[ABComparison, ...] = ()


def _comparisons(variants: dict[str, VariantFigures]) -> tuple[ABComparison, ...]:
    a, b = variants.get("A"), variants.get("B")
    if a is None or b is None or not a.shown or not b.shown:
        return ()
    return tuple(
        compare_rates(
            language="",
            measure=measure,
            hits_a=getattr(a, measure),
            n_a=a.shown,
            hits_b=getattr(b, measure),
            n_b=b.shown,
        )
        for measure in ("accepted", "converted")
    )


def invitation_figures(invitations: QuerySet[Invitation] | list[Invitation]) -> dict[int, Any]:
    """Shown, accepted, converted (an accepted display whose buyer placed an order within 48 h
    after accepting) per invitation and per text; each order counts once, for the earliest
    acceptance."""
    ids = [i.pk for i in invitations]
    with_b = {i.pk for i in invitations if i.texts_b}
    shown: dict[tuple[int, str], int] = {
        (invitation_id, variant): n
        for invitation_id, variant, n in InvitationDisplay.objects.filter(invitation_id__in=ids)
        .values("invitation_id", "variant")
        .annotate(n=Count("pk"))
        .values_list("invitation_id", "variant", "n")
    }
    accepted: list[tuple[dt.datetime, int, str, int]] = [
        (at, invitation_id, variant, buyer_id)
        for invitation_id, variant, at, buyer_id in InvitationDisplay.objects.filter(
            invitation_id__in=ids, accepted_at__isnull=False, buyer__isnull=False
        )
        .order_by("accepted_at", "pk")
        .values_list("invitation_id", "variant", "accepted_at", "buyer_id")
        if at is not None
    ]
    orders: dict[int, list[tuple[int, dt.datetime, Decimal]]] = {}
    for pk, buyer_id, placed_at, paid in Order.objects.filter(
        buyer_id__in={b for _at, _i, _v, b in accepted}
    ).values_list("pk", "buyer_id", "placed_at", "paid_amount"):
        orders.setdefault(buyer_id, []).append((pk, placed_at, paid or Decimal(0)))
    claimed: set[int] = set()
    accepted_n: dict[tuple[int, str], int] = {}
    converted: dict[tuple[int, str], int] = {}
    order_count: dict[int, int] = {}
    gmv: dict[int, Decimal] = {}
    for at, key, variant, buyer_id in accepted:
        accepted_n[key, variant] = accepted_n.get((key, variant), 0) + 1
        hits = [
            (pk, paid)
            for pk, placed_at, paid in orders.get(buyer_id, [])
            if pk not in claimed and at <= placed_at <= at + CONVERSION_WINDOW
        ]
        if not hits:
            continue
        converted[key, variant] = converted.get((key, variant), 0) + 1
        order_count[key] = order_count.get(key, 0) + len(hits)
        gmv[key] = gmv.get(key, Decimal(0)) + sum((paid for _pk, paid in hits), Decimal(0))
        claimed.update(pk for pk, _paid in hits)
    out = {}
    for i in ids:
        # A variant stays listed once shown, even after its B text is taken away.
        names = sorted({"A", *(("B",) if i in with_b else ()), *(v for k, v in shown if k == i)})
        variants = {
            v: VariantFigures(
                variant=v,
                shown=shown.get((i, v), 0),
                accepted=accepted_n.get((i, v), 0),
                converted=converted.get((i, v), 0),
            )
            for v in names
        }
        out[i] = InvitationFigures(
            invitation_id=i,
            shown=sum(f.shown for f in variants.values()),
            accepted=sum(f.accepted for f in variants.values()),
            converted=sum(f.converted for f in variants.values()),
            orders=order_count.get(i, 0),
            gmv=gmv.get(i, Decimal(0)),
            variants=tuple(variants.values()),
            comparisons=_comparisons(variants),
        )
    return out


def switch_invitation(*, actor: User, invitation: Invitation, active: bool) -> Invitation:
    require(actor, Capability.CREATE_CAMPAIGNS)
    if invitation.shop_id != shop_of(actor).pk:
        raise PermissionDenied("invitation of another shop")
    invitation.active = active
    invitation.save(update_fields=["active"])
    return invitation


def opt_out_from_widget(*, shop: Shop, visitor: str, language: str = "") -> None:
    """The widget's "no marketing messages" link: the same opt-out as an opt-out reply, so
    every campaign of the shop leaves this buyer out, now and later."""
    now = timezone.now()
    ids = upsert_buyers(
        shop=shop,
        seen=[(BuyerIn(external_id=visitor, language=_language(language)), now)],
        live=True,
    )
    buyer = Buyer.objects.get(pk=ids[visitor], shop=shop)
    record_opt_out(shop=shop, buyer=buyer, text="widget", at=now)
