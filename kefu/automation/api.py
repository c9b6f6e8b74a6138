"""Automation over the API: switches, business hours, keyword sets, scripts, suggestions."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from kefu.accounts.access import api_user, needs, shop_auth
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.automation import (
    buyer_language,
    config,
    keyword_rules,
    outcomes,
    quick_replies,
    scripts,
    selectors,
)
from kefu.automation.business_hours import Interval
from kefu.automation.models import Holiday, KeywordRule, Script
from kefu.automation.placeholders import PlaceholderContext
from kefu.core.schema_types import ErrorOut, LocalTime
from kefu.desk import reply_box
from kefu.orders.config import order_settings
from kefu.orders.selectors import access_buyer

router = Router(auth=shop_auth, tags=["automation"])


# ------------------------------------------------------------------ settings


class SettingsIO(Schema):
    welcome_enabled: bool
    welcome_text: str = Field(max_length=2000)
    out_of_hours_enabled: bool
    out_of_hours_text: str = Field(max_length=2000)
    agent_quiet_minutes: int = Field(ge=0, le=1440)
    keyword_replies_enabled: bool
    suggestions_enabled: bool = True
    languages: list[str]
    # Per buyer language ("ru": "..."); omitted keeps the stored texts, {} removes them.
    welcome_translations: dict[str, str] | None = None
    out_of_hours_translations: dict[str, str] | None = None


def _settings_out(request: HttpRequest) -> SettingsIO:
    conf = selectors.settings_of(shop_of(api_user(request)))
    return SettingsIO(
        welcome_enabled=conf.welcome_enabled,
        welcome_text=conf.welcome_text,
        out_of_hours_enabled=conf.out_of_hours_enabled,
        out_of_hours_text=conf.out_of_hours_text,
        agent_quiet_minutes=conf.agent_quiet_minutes,
        keyword_replies_enabled=conf.keyword_replies_enabled,
        suggestions_enabled=conf.suggestions_enabled,
        languages=conf.language_list(),
        welcome_translations=conf.welcome_translations,
        out_of_hours_translations=conf.out_of_hours_translations,
    )


@router.get("/settings", response=SettingsIO)
def get_settings(request: HttpRequest) -> SettingsIO:
    return _settings_out(request)


@router.put("/settings", response=SettingsIO)
def put_settings(request: HttpRequest, body: SettingsIO) -> SettingsIO:
    user = api_user(request)
    config.update_automation_settings(actor=user, **body.dict())
    return _settings_out(request)


class IntervalIO(Schema):
    weekday: int = Field(ge=0, le=6)
    opens: LocalTime
    closes: LocalTime


class HolidayIO(Schema):
    day: dt.date
    name: str = Field(default="", max_length=80)


class HoursIO(Schema):
    intervals: list[IntervalIO] = Field(max_length=50)
    holidays: list[HolidayIO] = Field(default_factory=list, max_length=400)


def _hours_out(request: HttpRequest) -> HoursIO:
    shop = shop_of(api_user(request))
    return HoursIO(
        intervals=[
            IntervalIO(weekday=i.weekday, opens=i.opens, closes=i.closes)
            for i in selectors.schedule_of(shop)
        ],
        holidays=[HolidayIO(day=h.day, name=h.name) for h in Holiday.objects.filter(shop=shop)],
    )


@router.get("/business-hours", response=HoursIO)
def get_hours(request: HttpRequest) -> HoursIO:
    return _hours_out(request)


@router.put("/business-hours", response=HoursIO)
def put_hours(request: HttpRequest, body: HoursIO) -> HoursIO:
    user = api_user(request)
    config.set_business_hours(
        actor=user,
        intervals=[Interval(i.weekday, i.opens, i.closes) for i in body.intervals],
        holidays=[config.HolidayInput(day=h.day, name=h.name) for h in body.holidays],
    )
    return _hours_out(request)


# ------------------------------------------------------------------ keyword rules


class RuleIO(Schema):
    keyword: str = Field(max_length=1000)
    reply_type: str = Field(pattern="^(text|image|coupon)$")
    is_active: bool = True
    text: str = Field(default="", max_length=4000)
    keep_image_of_rule: int | None = None
    coupon_code: str = Field(default="", max_length=100)
    coupon_value: Decimal | None = None
    coupon_currency: str = Field(
        default="",
        max_length=3,
        description="3-letter currency code (the shop's when empty), or % for a percentage off",
    )
    coupon_valid_until: dt.date | None = None
    coupon_min_spend: Decimal | None = None


class RuleOut(RuleIO):
    id: int
    image_url: str | None = None


class RuleSetOut(Schema):
    version: int
    rules: list[RuleOut]


class RuleSetIn(Schema):
    rules: list[RuleIO] = Field(max_length=30)
    expected_version: int | None = None


class PreviewIn(Schema):
    rules: list[RuleIO] = Field(max_length=30)
    samples: list[str] = Field(max_length=50)


class PreviewRowOut(Schema):
    sample: str
    keyword: str | None
    reply_type: str | None
    reply: str


class PreviewOut(Schema):
    can_save: bool
    errors: list[str]
    rows: list[PreviewRowOut]


def _rule_out(rule: KeywordRule) -> RuleOut:
    return RuleOut(
        id=rule.pk,
        keyword=rule.keyword,
        reply_type=rule.reply_type,
        is_active=rule.is_active,
        text=rule.text,
        keep_image_of_rule=rule.pk if rule.image else None,
        coupon_code=rule.coupon_code,
        coupon_value=rule.coupon_value,
        coupon_currency=rule.coupon_currency,
        coupon_valid_until=rule.coupon_valid_until,
        coupon_min_spend=rule.coupon_min_spend,
        image_url=f"/automation/keyword-images/{rule.pk}" if rule.image else None,
    )


def _inputs(rules: list[RuleIO]) -> list[keyword_rules.KeywordRuleInput]:
    return [keyword_rules.KeywordRuleInput(**r.dict()) for r in rules]


@router.get("/keyword-rules", response=RuleSetOut)
def get_rules(request: HttpRequest) -> RuleSetOut:
    shop = shop_of(api_user(request))
    return RuleSetOut(
        version=selectors.keyword_set_version(shop),
        rules=[_rule_out(r) for r in selectors.live_keyword_rules(shop)],
    )


@router.put("/keyword-rules", response=RuleSetOut)
def put_rules(request: HttpRequest, body: RuleSetIn) -> RuleSetOut:
    user = api_user(request)
    keyword_rules.save_keyword_rules(
        actor=user, rules=_inputs(body.rules), expected_version=body.expected_version
    )
    return get_rules(request)


@router.post("/keyword-rules/preview", response=PreviewOut)
@needs(Capability.MANAGE_SETTINGS)
def preview_rules(request: HttpRequest, body: PreviewIn) -> PreviewOut:
    user = api_user(request)
    preview = keyword_rules.preview_keyword_rules(
        shop=shop_of(user), rules=_inputs(body.rules), samples=body.samples
    )
    return PreviewOut(
        can_save=preview.can_save,
        errors=preview.errors,
        rows=[PreviewRowOut(**vars(row)) for row in preview.rows],
    )


# ------------------------------------------------------------------ scripts


class VariantOut(Schema):
    id: int
    language: str
    body: str


class ScriptOut(Schema):
    id: int
    key: str
    stage: str
    topic: str
    title: str
    examples: str
    order_states: list[str]
    is_active: bool
    variants: list[VariantOut]


class ScriptIn(Schema):
    stage: str = Field(pattern="^(pre_sale|in_sale|after_sale)$")
    topic: str = Field(min_length=1, max_length=60)
    title: str = Field(min_length=1, max_length=160)
    examples: str = Field(default="", max_length=8000)
    order_states: list[str] = Field(default_factory=list, max_length=20)
    variants: dict[str, str]


class ScriptQuery(Schema):
    stage: str | None = None
    topic: str | None = None
    language: str | None = None
    q: str = Field(default="", max_length=100)


def _script_out(script: Script) -> ScriptOut:
    return ScriptOut(
        id=script.pk,
        key=script.key,
        stage=script.stage,
        topic=script.topic,
        title=script.title,
        examples=script.examples,
        order_states=script.order_state_list(),
        is_active=script.is_active,
        variants=[
            VariantOut(id=v.pk, language=v.language, body=v.body) for v in script.variants.all()
        ],
    )


@router.get("/scripts", response=list[ScriptOut])
def list_scripts(request: HttpRequest, filters: Query[ScriptQuery]) -> list[ScriptOut]:
    shop = shop_of(api_user(request))
    return [
        _script_out(s)
        for s in selectors.scripts_of(
            shop,
            stage=filters.stage,
            topic=filters.topic,
            language=filters.language,
            query=filters.q or None,
        )
    ]


@router.post("/scripts", response={201: ScriptOut})
def create_script(request: HttpRequest, body: ScriptIn) -> Status[ScriptOut]:
    user = api_user(request)
    script = scripts.create_script(actor=user, data=scripts.ScriptInput(**body.dict()))
    return Status(201, _script_out(selectors.access_script(user, script.pk)))


@router.get("/scripts/{script_id}", response=ScriptOut)
def get_script(request: HttpRequest, script_id: int) -> ScriptOut:
    return _script_out(selectors.access_script(api_user(request), script_id))


@router.put("/scripts/{script_id}", response=ScriptOut)
def put_script(request: HttpRequest, script_id: int, body: ScriptIn) -> ScriptOut:
    user = api_user(request)
    script = selectors.access_script(user, script_id)
    scripts.update_script(actor=user, script=script, data=scripts.ScriptInput(**body.dict()))
    return _script_out(selectors.access_script(user, script_id))


class ActiveIn(Schema):
    active: bool


@router.put("/scripts/{script_id}/active", response=ScriptOut)
def put_script_active(request: HttpRequest, script_id: int, body: ActiveIn) -> ScriptOut:
    """Retire a script (no longer suggested or listed) or restore it."""
    user = api_user(request)
    script = selectors.access_script(user, script_id)
    scripts.set_script_active(actor=user, script=script, active=body.active)
    return _script_out(selectors.access_script(user, script_id))


class ContextIn(Schema):
    """Placeholder values; the conversation supplies buyer, agent, product and order id."""

    conversation_id: int | None = None
    language: str | None = None
    order_id: str | None = None
    tracking_numbers: list[str] = Field(default_factory=list, max_length=20)
    carrier: str | None = None
    arrival_date: dt.date | None = None
    tracking_url: str | None = None
    refund_days: str | None = None
    order_month: dt.date | None = None


class RenderedOut(Schema):
    text: str
    language: str
    has_gaps: bool
    gaps: list[str]


@router.post("/scripts/{script_id}/render", response=RenderedOut)
def render_script(request: HttpRequest, script_id: int, body: ContextIn) -> RenderedOut:
    user = api_user(request)
    script = selectors.access_script(user, script_id)
    language = body.language
    given = PlaceholderContext(
        agent_name=user.name_for_buyers,
        order_id=body.order_id,
        tracking_numbers=tuple(body.tracking_numbers),
        carrier=body.carrier,
        arrival_date=body.arrival_date,
        tracking_url=body.tracking_url,
        refund_days=body.refund_days,
        order_month=body.order_month,
    )
    if body.conversation_id is not None:
        conv = selectors.access_conversation(user, body.conversation_id)
        # What the reply box would fill for this conversation; values sent in the body win.
        known, _facts = reply_box.placeholder_context(user, conv)
        sent = {k: v for k, v in vars(given).items() if v not in (None, ())}
        context = replace(known, **sent)
        language = language or selectors.buyer_language(conv.buyer) or None
    else:
        promises = order_settings(shop=shop_of(user))
        context = replace(
            given,
            refund_days=given.refund_days or promises.refund_days,
            ship_by_hours=promises.ship_by_hours,
        )
    variant = selectors.variant_for(script, language)
    if variant is None:
        raise HttpError(404, "this script has no text yet")
    out = selectors.render_script(variant, context)
    return RenderedOut(
        text=out.text,
        language=out.language,
        has_gaps=out.has_gaps,
        gaps=[g.marker for g in out.gaps],
    )


class UseIn(Schema):
    conversation_id: int
    language: str = Field(max_length=10)
    message_id: int | None = None
    suggested: bool = False


@router.post("/scripts/{script_id}/uses", response={201: dict[str, int]})
def record_use(request: HttpRequest, script_id: int, body: UseIn) -> Status[dict[str, int]]:
    user = api_user(request)
    script = selectors.access_script(user, script_id)
    conv = selectors.access_conversation(user, body.conversation_id)
    message = None
    if body.message_id is not None:
        message = conv.messages.filter(pk=body.message_id).first()
        if message is None:
            raise HttpError(404, "no such message in this conversation")
    hit = outcomes.record_script_use(
        agent=user,
        conversation=conv,
        script=script,
        language=body.language,
        message=message,
        suggested=body.suggested,
    )
    return Status(201, {"id": hit.pk})


class SuggestIn(Schema):
    text: str = Field(max_length=10_000)
    conversation_id: int | None = None
    stage: str | None = Field(default=None, pattern="^(pre_sale|in_sale|after_sale)$")
    language: str | None = None
    order_state: str | None = None
    limit: int = Field(default=3, ge=1, le=10)


SUGGESTIONS_OFF = "script suggestions are switched off in the shop's automation settings"


class SuggestionOut(Schema):
    script_id: int
    variant_id: int | None
    title: str
    stage: str
    topic: str
    language: str
    body: str
    score: float
    reason: str


@router.post("/suggestions", response={200: list[SuggestionOut], 404: ErrorOut, 409: ErrorOut})
def suggestions(request: HttpRequest, body: SuggestIn) -> list[SuggestionOut]:
    user = api_user(request)
    shop = shop_of(user)
    if not selectors.settings_of(shop).suggestions_enabled:
        raise HttpError(409, SUGGESTIONS_OFF)
    stage, language = body.stage, body.language
    if body.conversation_id is not None:
        conv = selectors.access_conversation(user, body.conversation_id)
        stage = stage or ("after_sale" if conv.group == "after_sale" else "pre_sale")
        language = language or selectors.buyer_language(conv.buyer) or None
    found = selectors.suggest_scripts(
        shop=shop,
        conversation_stage=stage,
        text=body.text,
        language=language,
        order_state=body.order_state,
        limit=body.limit,
    )
    return [SuggestionOut(**{**vars(s), "reason": s.reason}) for s in found]


# ------------------------------------------------------------------ quick replies, buyers


class QuickReplyIn(Schema):
    title: str = Field(min_length=1, max_length=80)
    body: str = Field(min_length=1, max_length=4000)
    language: str = ""


class QuickReplyOut(QuickReplyIn):
    id: int


@router.get("/quick-replies", response=list[QuickReplyOut])
def list_quick_replies(request: HttpRequest) -> list[QuickReplyOut]:
    return [
        QuickReplyOut(id=q.pk, title=q.title, body=q.body, language=q.language)
        for q in selectors.quick_replies_of(api_user(request))
    ]


@router.post("/quick-replies", response={201: QuickReplyOut})
def add_quick_reply(request: HttpRequest, body: QuickReplyIn) -> Status[QuickReplyOut]:
    user = api_user(request)
    q = quick_replies.create_quick_reply(actor=user, **body.dict())
    return Status(201, QuickReplyOut(id=q.pk, title=q.title, body=q.body, language=q.language))


@router.put("/quick-replies/{reply_id}", response=QuickReplyOut)
def put_quick_reply(request: HttpRequest, reply_id: int, body: QuickReplyIn) -> QuickReplyOut:
    user = api_user(request)
    reply = selectors.access_quick_reply(user, reply_id)
    q = quick_replies.update_quick_reply(actor=user, reply=reply, **body.dict())
    return QuickReplyOut(id=q.pk, title=q.title, body=q.body, language=q.language)


@router.delete("/quick-replies/{reply_id}", response={204: None})
def delete_quick_reply(request: HttpRequest, reply_id: int) -> Status[None]:
    user = api_user(request)
    reply = selectors.access_quick_reply(user, reply_id)
    quick_replies.delete_quick_reply(actor=user, reply=reply)
    return Status(204, None)


class LanguageIn(Schema):
    language: str = Field(default="", max_length=10)


@router.put("/buyers/{buyer_id}/language", response=dict[str, str])
def put_buyer_language(request: HttpRequest, buyer_id: int, body: LanguageIn) -> dict[str, str]:
    user = api_user(request)
    buyer = access_buyer(user, buyer_id)
    effective = buyer_language.set_buyer_language(actor=user, buyer=buyer, language=body.language)
    return {"language": effective}


class OutcomeOut(Schema):
    kind: str
    label: str
    object_id: int | None
    count: int
    replied: int
    ordered: int
    complaints: int


@router.get("/report", response={200: dict[str, list[OutcomeOut]], 403: ErrorOut})
@needs(Capability.MANAGE_SETTINGS)
def report(request: HttpRequest, days: int = 30) -> dict[str, list[OutcomeOut]]:
    user = api_user(request)
    since = timezone.now() - dt.timedelta(days=max(1, min(days, 365)))
    data = selectors.automation_report(shop=shop_of(user), since=since)
    return {k: [OutcomeOut(**vars(r)) for r in rows] for k, rows in data.items()}
