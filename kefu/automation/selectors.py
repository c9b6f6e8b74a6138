"""Reads shared by pages, the API and the lead's message intake and reply box."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.automation.business_hours import Interval
from kefu.automation.keywords import KeywordMatcher
from kefu.automation.models import (
    AutomationHit,
    AutomationSettings,
    BusinessHours,
    BuyerAutomationState,
    HitKind,
    Holiday,
    KeywordRule,
    KeywordRuleSet,
    QuickReply,
    Script,
    ScriptLanguage,
    ScriptStage,
    ScriptVariant,
)
from kefu.automation.placeholders import PlaceholderContext, Rendered, render
from kefu.automation.suggest import ORDER_STATES, ScriptDoc, SuggestionIndex
from kefu.catalog.models import Product
from kefu.conversations import selectors as conversations
from kefu.conversations.models import Buyer, Conversation

# ------------------------------------------------------------------ settings and hours


def settings_of(shop: Shop) -> AutomationSettings:
    """The shop's automation settings; an unsaved all-off default when never saved."""
    found = AutomationSettings.objects.filter(shop=shop).first()
    return found if found is not None else AutomationSettings(shop=shop)


def schedule_of(shop: Shop) -> list[Interval]:
    return [
        Interval(weekday=h.weekday, opens=h.opens, closes=h.closes)
        for h in BusinessHours.objects.filter(shop=shop)
    ]


def holidays_of(shop: Shop, *, around: dt.date | None = None) -> list[dt.date]:
    qs = Holiday.objects.filter(shop=shop)
    if around is not None:
        one_day = dt.timedelta(days=1)
        qs = qs.filter(day__gte=around - one_day, day__lte=around + one_day)
    return list(qs.values_list("day", flat=True))


# ------------------------------------------------------------------ keyword rules


def keyword_set_version(shop: Shop) -> int:
    return KeywordRuleSet.objects.filter(shop=shop).values_list("version", flat=True).first() or 0


def _keyword_set_stamp(shop: Shop) -> tuple[int, dt.datetime | None]:
    # The save time goes into cache keys too: a version number alone could repeat after a
    # rolled-back transaction reused a shop id.
    row = KeywordRuleSet.objects.filter(shop=shop).values_list("version", "updated_at").first()
    return (row[0], row[1]) if row else (0, None)


def live_keyword_rules(shop: Shop) -> QuerySet[KeywordRule]:
    return KeywordRule.objects.filter(shop=shop, version=keyword_set_version(shop)).order_by(
        "position"
    )


@dataclass(frozen=True)
class LiveKeywords:
    version: int
    matcher: KeywordMatcher
    rules: dict[int, KeywordRule]


_matcher_cache: OrderedDict[tuple[int, int, dt.datetime | None], LiveKeywords] = OrderedDict()
_matcher_lock = threading.Lock()
_MATCHER_CACHE_SIZE = 256


def live_keywords(shop: Shop) -> LiveKeywords:
    """The shop's live keyword matcher, built once per set version per process."""
    version, saved_at = _keyword_set_stamp(shop)
    key = (shop.pk, version, saved_at)
    with _matcher_lock:
        cached = _matcher_cache.get(key)
        if cached is not None:
            _matcher_cache.move_to_end(key)
            return cached
    rules = {
        r.pk: r
        for r in KeywordRule.objects.filter(shop=shop, version=version, is_active=True).order_by(
            "position"
        )
    }
    live = LiveKeywords(
        version=version,
        matcher=KeywordMatcher((r.pk, r.keyword) for r in rules.values()),
        rules=rules,
    )
    with _matcher_lock:
        _matcher_cache[key] = live
        while len(_matcher_cache) > _MATCHER_CACHE_SIZE:
            _matcher_cache.popitem(last=False)
    return live


def access_keyword_rule(user: User, rule_id: int) -> KeywordRule:
    try:
        return KeywordRule.objects.get(shop=shop_of(user), pk=rule_id)
    except KeywordRule.DoesNotExist as exc:
        raise Http404("no such keyword rule") from exc


# ------------------------------------------------------------------ scripts


def scripts_of(
    shop: Shop,
    *,
    stage: str | None = None,
    topic: str | None = None,
    language: str | None = None,
    query: str | None = None,
    include_inactive: bool = False,
) -> QuerySet[Script]:
    qs = Script.objects.filter(shop=shop).prefetch_related("variants")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if stage:
        qs = qs.filter(stage=stage)
    if topic:
        qs = qs.filter(topic=topic)
    if language:
        qs = qs.filter(variants__language=language)
    if query:
        qs = qs.filter(
            Q(title__icontains=query)
            | Q(examples__icontains=query)
            | Q(variants__body__icontains=query)
        )
    return qs.distinct().order_by("stage", "topic", "title")


def topics_of(shop: Shop) -> list[tuple[str, str]]:
    """(stage, topic) pairs in use, for browsing."""
    return list(
        Script.objects.filter(shop=shop, is_active=True)
        .values_list("stage", "topic")
        .distinct()
        .order_by("stage", "topic")
    )


def access_script(user: User, script_id: int) -> Script:
    try:
        return Script.objects.prefetch_related("variants").get(shop=shop_of(user), pk=script_id)
    except Script.DoesNotExist as exc:
        raise Http404("no such script") from exc


def access_variant(user: User, variant_id: int) -> ScriptVariant:
    try:
        return ScriptVariant.objects.select_related("script").get(shop=shop_of(user), pk=variant_id)
    except ScriptVariant.DoesNotExist as exc:
        raise Http404("no such script variant") from exc


def variant_for(script: Script, language: str | None) -> ScriptVariant | None:
    """The variant in `language`; else English; else any. None for a script without text."""
    variants = {v.language: v for v in script.variants.all()}
    for code in (language, ScriptLanguage.EN.value, *sorted(variants)):
        if code and code in variants:
            return variants[code]
    return None


def render_script(variant: ScriptVariant, context: PlaceholderContext) -> Rendered:
    """Fill a variant's placeholders. Missing values become visible gaps (`Rendered.gaps`);
    refuse to send while `Rendered.has_gaps` is true."""
    return render(variant.body, context, variant.language)


def placeholder_context_for(
    *,
    conversation: Conversation,
    agent: User | None,
    order_id: str | None = None,
    tracking_numbers: tuple[str, ...] = (),
    carrier: str | None = None,
    arrival_date: dt.date | None = None,
    tracking_url: str | None = None,
    refund_days: str | None = None,
    order_month: dt.date | None = None,
    ship_by_hours: int | None = None,
    item_titles: tuple[str, ...] = (),
    order_product: Product | None = None,
) -> PlaceholderContext:
    """What the conversation itself knows (buyer, agent, product, order id); order and
    parcel values and the shop's promises are passed in by the caller (the orders domain).

    `{product}` is the product page the chat started on, else what the order holds
    (`item_titles`); the product facts come from that page's product, else from the order's
    first item linked to the catalogue (`order_product`). An empty fact stays a gap."""
    buyer = conversation.buyer
    product = conversation.product or order_product
    if conversation.product is not None:
        product_name: str | None = conversation.product.title
    else:
        product_name = ", ".join(t for t in item_titles if t.strip()) or None
    return PlaceholderContext(
        buyer_name=buyer.name or None,
        agent_name=agent.name_for_buyers if agent is not None else None,
        order_id=order_id or conversation.order_external_id or None,
        tracking_numbers=tracking_numbers,
        carrier=carrier,
        arrival_date=arrival_date,
        tracking_url=tracking_url,
        refund_days=refund_days,
        order_month=order_month,
        product=product_name,
        ship_by_hours=ship_by_hours,
        product_shelf_life=product.shelf_life if product is not None else None,
        product_suits=product.suits if product is not None else None,
        product_ships_from=product.ships_from if product is not None else None,
        product_dispatch_time=product.dispatch_time if product is not None else None,
        product_differences=product.differences if product is not None else None,
    )


def quick_replies_of(user: User) -> QuerySet[QuickReply]:
    return QuickReply.objects.filter(shop=shop_of(user), owner=user)


def access_quick_reply(user: User, reply_id: int) -> QuickReply:
    try:
        return quick_replies_of(user).get(pk=reply_id)
    except QuickReply.DoesNotExist as exc:
        raise Http404("no such quick reply") from exc


# ------------------------------------------------------------------ buyers


def access_conversation(user: User, conversation_id: int) -> Conversation:
    # The conversations domain's rule, sub-accounts' narrower view included (R-02).
    return conversations.access_conversation(user, conversation_id)


def buyer_language(buyer: Buyer) -> str:
    """The agent's override, else the detected language, else the Buyer field."""
    state = BuyerAutomationState.objects.filter(buyer=buyer).first()
    if state is not None and state.language:
        return state.language
    return buyer.language


# ------------------------------------------------------------------ suggestions


@dataclass(frozen=True)
class Suggestion:
    script_id: int
    variant_id: int | None
    title: str
    stage: str
    topic: str
    language: str
    body: str
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class _ShopIndex:
    version: tuple[int, dt.datetime | None]
    index: SuggestionIndex
    scripts: dict[int, Script]


_index_cache: OrderedDict[int, _ShopIndex] = OrderedDict()
_index_lock = threading.Lock()
_INDEX_CACHE_SIZE = 128


def scripts_version(shop: Shop) -> tuple[int, dt.datetime | None]:
    """The scripts version and when settings last changed: the suggestion cache key."""
    row = (
        AutomationSettings.objects.filter(shop=shop)
        .values_list("scripts_version", "updated_at")
        .first()
    )
    return (row[0], row[1]) if row else (0, None)


def _shop_index(shop: Shop) -> _ShopIndex:
    version = scripts_version(shop)
    with _index_lock:
        cached = _index_cache.get(shop.pk)
        if cached is not None and cached.version == version:
            _index_cache.move_to_end(shop.pk)
            return cached
    scripts = {
        s.pk: s
        for s in Script.objects.filter(shop=shop, is_active=True).prefetch_related("variants")
    }
    docs = [
        ScriptDoc(
            script_id=s.pk,
            title=s.title,
            stage=s.stage,
            topic=s.topic,
            text="\n".join([s.title, s.topic.replace("_", " "), s.examples]),
            order_states=frozenset(s.order_state_list()),
            languages=frozenset(v.language for v in s.variants.all()),
            examples=tuple(line for line in s.examples.splitlines() if line.strip()),
        )
        for s in scripts.values()
    ]
    built = _ShopIndex(version=version, index=SuggestionIndex(docs), scripts=scripts)
    with _index_lock:
        _index_cache[shop.pk] = built
        while len(_index_cache) > _INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return built


def suggest_scripts(
    *,
    shop: Shop,
    conversation_stage: str | None,
    text: str,
    language: str | None,
    order_state: str | None = None,
    limit: int = 3,
) -> list[Suggestion]:
    """The best-fitting scripts for the buyer's latest message (R-13), best first.

    `conversation_stage` is pre_sale, in_sale or after_sale; `order_state` one of
    `suggest.ORDER_STATES` (or None without an order). The fitted index is cached per
    process and rebuilt when the shop's scripts change (its `scripts_version`).
    """
    shop_index = _shop_index(shop)
    ranked = shop_index.index.rank(
        text=text,
        stage=conversation_stage,
        language=language,
        order_state=order_state,
        limit=max(1, min(limit, 20)),
    )
    suggestions = []
    for r in ranked:
        script = shop_index.scripts[r.script_id]
        variant = variant_for(script, language)
        reasons: list[str] = []
        if r.order_state_match and order_state:
            reasons.append(
                _("order state: %(state)s") % {"state": ORDER_STATES.get(order_state, order_state)}
            )
        if r.matched_example:
            reasons.append(
                _("wording close to “%(example)s” (%(score).2f)")
                % {"example": r.matched_example, "score": r.text_score}
            )
        if r.stage_match and conversation_stage:
            stage_label = (
                ScriptStage(conversation_stage).label
                if conversation_stage in ScriptStage.values
                else conversation_stage
            )
            reasons.append(_("%(stage)s script") % {"stage": stage_label})
        if variant is not None and language and variant.language != language:
            reasons.append(
                _("no %(language)s version yet: showing %(shown)s")
                % {"language": language, "shown": variant.language}
            )
        suggestions.append(
            Suggestion(
                script_id=script.pk,
                variant_id=variant.pk if variant is not None else None,
                title=script.title,
                stage=script.stage,
                topic=script.topic,
                language=variant.language if variant is not None else "",
                body=variant.body if variant is not None else "",
                score=r.score,
                reasons=reasons,
            )
        )
    return suggestions


# ------------------------------------------------------------------ measurement


@dataclass(frozen=True)
class OutcomeRow:
    kind: str
    label: str
    object_id: int | None
    count: int
    replied: int
    ordered: int
    complaints: int

    @property
    def reply_rate(self) -> float:
        return self.replied / self.count if self.count else 0.0

    @property
    def order_rate(self) -> float:
        return self.ordered / self.count if self.count else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.count if self.count else 0.0


def _outcomes(qs: QuerySet[AutomationHit], group: str, label: str, kind: str) -> list[OutcomeRow]:
    rows: list[dict[str, Any]] = list(
        qs.values(group, label).annotate(
            n=Count("id"),
            replied=Count("buyer_replied_at"),
            ordered=Count("ordered_at"),
            complaints=Count("complained_at"),
        )
    )
    out = [
        OutcomeRow(
            kind=kind,
            label=str(row[label] or "—"),
            object_id=row[group] if isinstance(row[group], int) else None,
            count=row["n"],
            replied=row["replied"],
            ordered=row["ordered"],
            complaints=row["complaints"],
        )
        for row in rows
    ]
    # Best outcome first: orders, then replies, fewer complaints, then volume.
    out.sort(key=lambda r: (-r.order_rate, -r.reply_rate, r.complaint_rate, -r.count, r.label))
    return out


def automation_report(*, shop: Shop, since: dt.datetime) -> dict[str, list[OutcomeRow]]:
    hits = AutomationHit.objects.filter(shop=shop, created_at__gte=since)
    return {
        "auto_replies": _outcomes(
            hits.filter(kind__in=[HitKind.WELCOME, HitKind.OUT_OF_HOURS]), "kind", "kind", "auto"
        ),
        "keywords": _outcomes(hits.filter(kind=HitKind.KEYWORD), "keyword", "keyword", "keyword"),
        "scripts": _outcomes(
            hits.filter(kind=HitKind.SCRIPT), "script_id", "script__title", "script"
        ),
    }
