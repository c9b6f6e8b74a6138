"""Writes of the rule guard: check outgoing text, record what it found, record overrides.

Call `check_outgoing` when an agent sends (reply, campaign message), `ensure_saveable` when a
script, quick reply, keyword reply or welcome reply is saved, and `record_override` when an agent
confirms sending a text that only warned. A block can never be overridden.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.catalog.models import Product
from kefu.compliance.concepts import asks_for_another_account
from kefu.compliance.models import ComplianceFinding, ShippingPolicy, Source
from kefu.compliance.rules import DEFAULT_REFUND_DAYS, DEFAULT_SHIP_BY_HOURS
from kefu.compliance.scanner import CheckContext, Finding, Verdict, check_text
from kefu.compliance.selectors import shipping_policy_of
from kefu.compliance.textview import fold

logger = logging.getLogger(__name__)

EXCERPT_LENGTH = 200
# A confirmation arriving this long after the warning still belongs to it.
OVERRIDE_WINDOW = timedelta(hours=1)
_DIGIT = re.compile(r"\d")


class ComplianceBlocked(Exception):
    """The text breaks a rule whose severity is block; ``verdict`` says which and why."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        codes = ", ".join(sorted({f.code for f in verdict.findings if f.severity == "block"}))
        super().__init__(f"blocked by platform rules: {codes}")


def context_for_shop(
    shop: Shop,
    *,
    recipient_is_paying_buyer: bool | None = None,
    stock_available: bool | None = None,
    free_shipping: bool | None = None,
    refund_talk: bool = False,
    product: Product | None = None,
    order_products: Sequence[Product] = (),
    language: str | None = None,
    ship_by_hours: int | None = None,
    refund_days: str | None = None,
    shipping_policy: ShippingPolicy | None = None,
) -> CheckContext:
    """The check context of a shop; a product under discussion fills what is not given.

    Free shipping is known from the product under discussion, else from the products of the
    order the conversation is about (free only when every one of them ships free), else from
    the shop's shipping policy (R-25). A listing or policy that excludes regions sets its own
    postage there, so pointing at the postage the page shows stays allowed (R-44).

    `ship_by_hours` and `refund_days` are the shop's own promises (its order settings, read
    by the caller): the suggested wording promises them; without them, the defaults.
    `shipping_policy`: the shop's, when the caller read it already."""
    if product is not None and product.shop_id != shop.pk:
        raise ValueError("product belongs to another shop")
    if any(p.shop_id != shop.pk for p in order_products):
        raise ValueError("order product belongs to another shop")
    regional_postage = False
    if product is not None:
        shipping_free = bool(product.free_shipping)
        regional_postage = bool(product.free_shipping_excluded_regions)
    elif order_products:
        shipping_free = all(p.free_shipping for p in order_products)
        regional_postage = any(p.free_shipping_excluded_regions for p in order_products)
    else:
        policy = shipping_policy or shipping_policy_of(shop)
        shipping_free = policy.free_shipping
        regional_postage = bool(policy.excluded_regions)
    if free_shipping is None:
        free_shipping = shipping_free
    if stock_available is None and product is not None:
        stock_available = product.stock > 0
    return CheckContext(
        platform=shop.platform,
        free_shipping=free_shipping,
        regional_postage=regional_postage,
        recipient_is_paying_buyer=recipient_is_paying_buyer,
        stock_available=stock_available,
        refund_talk=refund_talk,
        language=language,
        ship_by_hours=DEFAULT_SHIP_BY_HOURS if ship_by_hours is None else ship_by_hours,
        refund_days=refund_days or DEFAULT_REFUND_DAYS,
    )


class UnattendedChecks:
    """What `check_unattended` reads of a shop, read once for many checks: the intake
    worker's batch checks hundreds of automatic replies per transaction (issue 15), and the
    shop's shipping policy cannot change inside it. The verdicts themselves are cached by
    `check_text`; the findings are still recorded per check."""

    def __init__(self) -> None:
        self._policies: dict[int, ShippingPolicy] = {}

    def shipping_policy(self, shop: Shop) -> ShippingPolicy:
        if shop.pk not in self._policies:
            self._policies[shop.pk] = shipping_policy_of(shop)
        return self._policies[shop.pk]


def check_unattended(
    *,
    shop: Shop,
    text: str,
    source: str,
    conversation_id: int | None,
    product: Product | None = None,
    checks: UnattendedChecks | None = None,
) -> Verdict:
    """Check a message the shop sends without a person at the keyboard (automatic replies,
    payment reminders, ask-to-pay, incident broadcasts, campaigns): one `check_outgoing`
    like every reply, with the shop's own context. The caller must not send on a block; a
    warning is recorded and the message goes out, as nobody is there to confirm it.
    `checks`: the shop's context read once for a batch of checks."""
    if product is not None and product.shop_id != shop.pk:
        product = None
    policy = checks.shipping_policy(shop) if checks is not None and product is None else None
    context = context_for_shop(shop, product=product, shipping_policy=policy)
    return check_outgoing(
        shop=shop,
        actor=None,
        text=text,
        context=context,
        source=source,
        conversation_id=conversation_id,
    )


def buyer_asks_for_another_account(buyer_texts: Sequence[str]) -> bool:
    """Whether any of the buyer's recent messages asks for another account's order details
    (address, phone, name, or a change of address): the recipient is then not the payer."""
    return any(asks_for_another_account(fold(text)) for text in buyer_texts)


MAX_REGIONS = 40
MAX_REGION_LENGTH = 100


@transaction.atomic
def set_shipping_policy(
    *, shop: Shop, actor: User, free_shipping: bool, excluded_regions: Sequence[str] = ()
) -> ShippingPolicy:
    """Save the shop's shipping promise (a shop setting: owner or settings manager)."""
    require(actor, Capability.MANAGE_SETTINGS)
    if actor.shop_id != shop.pk:
        raise ValueError("actor belongs to another shop")
    regions = list(dict.fromkeys(r.strip() for r in excluded_regions if r.strip()))
    if len(regions) > MAX_REGIONS:
        raise ValidationError(
            _("At most %(count)d excluded regions.") % {"count": MAX_REGIONS}, code="regions"
        )
    if any(len(r) > MAX_REGION_LENGTH for r in regions):
        raise ValidationError(
            _("A region name has at most %(count)d characters.") % {"count": MAX_REGION_LENGTH},
            code="regions",
        )
    if regions and not free_shipping:
        raise ValidationError(
            _("Excluded regions only make sense with free shipping."), code="regions"
        )
    policy, _created = ShippingPolicy.objects.update_or_create(
        shop=shop,
        defaults={
            "free_shipping": free_shipping,
            "excluded_regions": regions,
            "updated_at": timezone.now(),
        },
    )
    return policy


def _excerpt(finding: Finding) -> str:
    text = finding.match
    if finding.code == "privacy":
        text = _DIGIT.sub("•", text)
    return text[:EXCERPT_LENGTH]


def _record(
    *,
    shop: Shop,
    actor: User | None,
    verdict: Verdict,
    source: str,
    conversation_id: int | None,
    overridden: bool = False,
) -> list[ComplianceFinding]:
    rows = [
        ComplianceFinding(
            shop=shop,
            actor=actor,
            source=source,
            conversation_id=conversation_id,
            code=finding.code,
            severity=finding.severity.value,
            requirement=finding.rule.requirement,
            excerpt=_excerpt(finding),
            pack_version=verdict.pack_version,
            blocked=verdict.blocked,
            overridden=overridden,
        )
        for finding in verdict.findings
    ]
    if rows:
        ComplianceFinding.objects.bulk_create(rows)
        logger.info(
            "compliance.findings",
            extra={
                "shop": shop.pk,
                "actor": actor.pk if actor else None,
                "source": source,
                "verdict": verdict.verdict,
                "codes": sorted(verdict.codes),
            },
        )
    return rows


def _validate(shop: Shop, actor: User | None, source: str) -> None:
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}")
    if actor is not None and actor.shop_id != shop.pk:
        raise ValueError("actor belongs to another shop")


def check_outgoing(
    *,
    shop: Shop,
    actor: User | None,
    text: str,
    context: CheckContext,
    source: str,
    conversation_id: int | None = None,
) -> Verdict:
    """Check text about to leave the shop and record every finding.

    The caller must not send when ``verdict.blocked``; on ``warn`` it sends only after the agent
    confirms, and then calls `record_override`. Recording commits with the caller's transaction.
    """
    _validate(shop, actor, source)
    if context.platform != shop.platform:
        raise ValueError("context platform differs from the shop's platform")
    verdict = check_text(text, context=context)
    _record(shop=shop, actor=actor, verdict=verdict, source=source, conversation_id=conversation_id)
    return verdict


@transaction.atomic
def record_override(
    *,
    shop: Shop,
    actor: User | None,
    verdict: Verdict,
    text: str,
    source: str,
    conversation_id: int | None,
) -> list[ComplianceFinding]:
    """Record that ``actor`` sent ``text`` despite a warn verdict.

    Marks the matching findings `check_outgoing` recorded within the last hour as overridden,
    and records any not seen before. The text is re-checked: a verdict that does not belong to
    this text, or any block, raises instead of being recorded as overridden.
    """
    _validate(shop, actor, source)
    fresh = check_text(text, context=verdict.context)
    if fresh.blocked:
        raise ComplianceBlocked(fresh)
    if fresh.codes != verdict.codes:
        raise ValueError("the verdict does not belong to this text")
    since = timezone.now() - OVERRIDE_WINDOW
    marked: list[ComplianceFinding] = []
    missing = []
    for finding in fresh.findings:
        row = (
            ComplianceFinding.objects.select_for_update()
            .filter(
                shop=shop,
                actor=actor,
                source=source,
                conversation_id=conversation_id,
                code=finding.code,
                excerpt=_excerpt(finding),
                overridden=False,
                blocked=False,
                created_at__gte=since,
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None:
            missing.append(finding)
            continue
        row.overridden = True
        row.save(update_fields=["overridden"])
        marked.append(row)
    if missing:
        rest = Verdict(
            verdict=fresh.verdict,
            findings=tuple(missing),
            platform=fresh.platform,
            pack_version=fresh.pack_version,
            context=fresh.context,
        )
        marked += _record(
            shop=shop,
            actor=actor,
            verdict=rest,
            source=source,
            conversation_id=conversation_id,
            overridden=True,
        )
    return marked


def _shop_promises_free_shipping(shop: Shop) -> bool:
    return Product.objects.filter(shop=shop, free_shipping=True).exists()


def ensure_saveable(
    *,
    shop: Shop,
    actor: User | None,
    text: str,
    source: str,
    context: CheckContext | None = None,
) -> None:
    """Refuse to save a script, quick reply, keyword or welcome reply that breaks a rule (R-29).

    Saved text is sent later to buyers of any listing, so unless a context is given it is judged
    as if the listing promised free shipping whenever any of the shop's products does. Raises
    `ComplianceBlocked`; warn findings are recorded and the save goes ahead.
    """
    if context is None:
        context = context_for_shop(shop, free_shipping=_shop_promises_free_shipping(shop))
    verdict = check_outgoing(
        shop=shop, actor=actor, text=text, context=context, source=source, conversation_id=None
    )
    if verdict.blocked:
        raise ComplianceBlocked(verdict)
