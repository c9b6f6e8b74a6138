"""The rule guard over the API: check a text, list findings, list the shop's rules, read and
set the shop's shipping policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from kefu.accounts.access import api_user, shop_auth
from kefu.accounts.scoping import shop_of
from kefu.compliance import selectors, services
from kefu.compliance.packs import pack_for
from kefu.compliance.scanner import check_text
from kefu.core.schema_types import ErrorOut
from kefu.orders.config import order_settings

router = Router(auth=shop_auth, tags=["compliance"])

PlatformName = Literal["tmall", "taobao", "aliexpress", "generic"]
SourceName = Literal[
    "reply", "script", "quick_reply", "keyword_reply", "welcome", "campaign", "system", "api"
]


class CheckIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    platform: PlatformName | None = None
    free_shipping: bool | None = None
    recipient_is_paying_buyer: bool | None = None
    stock_available: bool | None = None
    refund_talk: bool = False
    # Recording turns the check into a send attempt: findings land on the owner's daily page.
    record: bool = False
    # Mirrors models.Source (a test keeps them equal).
    source: SourceName = "api"
    conversation_id: int | None = None


class FindingOut(Schema):
    id: int
    created_at: dt.datetime
    agent: str | None
    source: str
    conversation_id: int | None
    code: str
    severity: str
    requirement: str
    excerpt: str
    blocked: bool
    overridden: bool


class FindingsQuery(Schema):
    date: dt.date | None = None
    agent: str | None = Field(default=None, max_length=150)


class Texts(Schema):
    zh: str
    en: str


class PenaltyOut(Schema):
    points: int | None
    compensation_pct: int | None
    zh: str
    en: str


class HitOut(Schema):
    code: str
    severity: str
    requirement: str
    span: list[int]
    match: str
    title: Texts
    explanation: Texts
    alternative: Texts
    penalty: PenaltyOut
    # "model": found by the n-gram model behind the rules (it only warns); `reason` names the
    # phrases that made it speak.
    source: str = "rules"
    reason: Texts | None = None


class VerdictOut(Schema):
    verdict: str
    platform: str
    pack_version: str
    findings: list[HitOut]


# Not `RuleOut`: the automation API's keyword rules have that name (one name, one schema).
class GuardRuleOut(Schema):
    code: str
    requirement: str
    severity: str
    title: Texts
    explanation: Texts
    alternative: Texts
    penalty: PenaltyOut


class PackOut(Schema):
    platform: str
    version: str
    rules: list[GuardRuleOut]


@router.post("/check", response={200: VerdictOut, 404: ErrorOut})
def check(request: HttpRequest, payload: CheckIn) -> VerdictOut:
    user = api_user(request)
    shop = shop_of(user)
    promises = order_settings(shop=shop)
    context = services.context_for_shop(
        shop,
        free_shipping=payload.free_shipping,
        recipient_is_paying_buyer=payload.recipient_is_paying_buyer,
        stock_available=payload.stock_available,
        refund_talk=payload.refund_talk,
        ship_by_hours=promises.ship_by_hours,
        refund_days=promises.refund_days,
    )
    if payload.platform is not None and payload.platform != shop.platform:
        if payload.record:
            raise HttpError(400, "a recorded check uses the shop's own platform")
        context = replace(context, platform=payload.platform)
    if payload.record:
        if payload.conversation_id is not None:
            # A finding names its conversation: only one the caller may see.
            from kefu.conversations.selectors import access_conversation

            access_conversation(user, payload.conversation_id)
        verdict = services.check_outgoing(
            shop=shop,
            actor=user,
            text=payload.text,
            context=context,
            source=payload.source,
            conversation_id=payload.conversation_id,
        )
    else:
        verdict = check_text(payload.text, context=context)
    return VerdictOut.model_validate(verdict.as_dict())


@router.get("/findings", response={200: list[FindingOut], 403: ErrorOut})
def findings(request: HttpRequest, query: Query[FindingsQuery]) -> list[FindingOut]:
    user = api_user(request)
    rows = selectors.visible_findings(user, day=query.date, agent_login=query.agent)
    return [
        FindingOut(
            id=row.pk,
            created_at=row.created_at,
            agent=row.actor.username if row.actor else None,
            source=row.source,
            conversation_id=row.conversation_id,
            code=row.code,
            severity=row.severity,
            requirement=row.requirement,
            excerpt=row.excerpt,
            blocked=row.blocked,
            overridden=row.overridden,
        )
        for row in rows[:1000]
    ]


@router.get("/rules", response=PackOut)
def rules(request: HttpRequest) -> PackOut:
    shop = shop_of(api_user(request))
    pack = pack_for(shop.platform)
    promises = order_settings(shop=shop)
    return PackOut(
        platform=pack.platform,
        version=pack.version,
        rules=[
            GuardRuleOut(
                code=rule.code,
                requirement=rule.requirement,
                severity=rule.severity.value,
                title=Texts(**rule.title.as_dict()),
                explanation=Texts(**rule.explanation.as_dict()),
                alternative=Texts(
                    **rule.alternative_for(
                        ship_by_hours=promises.ship_by_hours, refund_days=promises.refund_days
                    ).as_dict()
                ),
                penalty=PenaltyOut.model_validate(rule.penalty.as_dict()),
            )
            for rule in pack.rules
        ],
    )


class ShippingPolicyOut(Schema):
    free_shipping: bool
    excluded_regions: list[str]


class ShippingPolicyIn(Schema):
    free_shipping: bool
    excluded_regions: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=40
    )


@router.get(
    "/shipping-policy",
    response=ShippingPolicyOut,
    summary="The shop's shipping promise the guard uses when no listing or order says (R-25)",
    operation_id="kefu_compliance_api_get_shipping_policy",
)
def get_shipping_policy(request: HttpRequest) -> ShippingPolicyOut:
    policy = selectors.shipping_policy_of(shop_of(api_user(request)))
    return ShippingPolicyOut(
        free_shipping=policy.free_shipping, excluded_regions=list(policy.excluded_regions)
    )


@router.put(
    "/shipping-policy",
    response={200: ShippingPolicyOut, 400: ErrorOut, 403: ErrorOut},
    summary="Set the shop's shipping promise (main account or settings manager)",
    operation_id="kefu_compliance_api_put_shipping_policy",
)
def put_shipping_policy(request: HttpRequest, payload: ShippingPolicyIn) -> ShippingPolicyOut:
    user = api_user(request)
    policy = services.set_shipping_policy(
        shop=shop_of(user),
        actor=user,
        free_shipping=payload.free_shipping,
        excluded_regions=payload.excluded_regions,
    )
    return ShippingPolicyOut(
        free_shipping=policy.free_shipping, excluded_regions=list(policy.excluded_regions)
    )
