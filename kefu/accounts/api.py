"""Shop settings and sub-accounts over the API (same rules as the settings pages)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import StrictInt

from kefu.accounts import services, tokens
from kefu.accounts.access import api_user, needs, shop_auth
from kefu.accounts.models import ApiToken, User
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.accounts.selectors import access_member, team_of
from kefu.automation.starter import install_starter_set
from kefu.core.schema_types import ErrorOut as Problem  # the API's one error shape
from kefu.desk import team
from kefu.desk.setup import setup_checklist
from kefu.integrations.ping import send_test_ping

router = Router(auth=shop_auth, tags=["shop"])


class ShopOut(Schema):
    slug: str
    name: str
    platform: str
    timezone: str
    currency: str
    callback_url: str
    sign_replies: bool
    signature_template: str
    intake_per_minute: int
    intake_per_buyer_per_minute: int
    widget_messages_per_minute: int
    widget_chats_per_hour: int
    intake_synchronous: bool


class ShopPatch(Schema):
    name: str | None = None
    timezone: str | None = None
    currency: str | None = None
    callback_url: str | None = None
    sign_replies: bool | None = None
    signature_template: str | None = None
    intake_per_minute: StrictInt | None = Field(
        default=None, description="Signed webhook requests (messages, orders, tracking) a minute"
    )
    intake_per_buyer_per_minute: StrictInt | None = Field(
        default=None, description="Signed messages about one marketplace buyer a minute"
    )
    widget_messages_per_minute: StrictInt | None = Field(
        default=None, description="Messages one chat-widget buyer may send a minute"
    )
    widget_chats_per_hour: StrictInt | None = Field(
        default=None,
        description="New chat-widget conversations one network address may open an hour",
    )
    intake_synchronous: bool | None = Field(
        default=None,
        description=(
            "true: the message webhook stores and routes before answering 201 with the "
            "routing; false (default for new shops): it queues and answers 202"
        ),
    )


class AgentOut(Schema):
    id: int
    login: str
    display_name: str
    role: str
    groups: list[str]
    active: bool

    @staticmethod
    def resolve_login(obj: User) -> str:
        return obj.username

    @staticmethod
    def resolve_groups(obj: User) -> list[str]:
        return obj.service_groups

    @staticmethod
    def resolve_active(obj: User) -> bool:
        return obj.is_active


class AgentIn(Schema):
    login: str
    groups: list[str]
    password: str | None = None
    display_name: str = ""
    can_manage_settings: bool = False
    can_issue_refunds: bool = False
    refund_limit: Decimal | None = None
    can_create_campaigns: bool = False


class AgentCreated(Schema):
    # AgentOut's fields without its resolvers, which read a User: this answer is built, not
    # read from a model.
    id: int
    login: str
    display_name: str
    role: str
    groups: list[str]
    active: bool
    password: str


@router.get("", response=ShopOut)
def get_shop(request: HttpRequest) -> object:
    return api_user(request).shop


@router.patch("", response={200: ShopOut, 400: Problem, 403: Problem})
def patch_shop(request: HttpRequest, body: ShopPatch) -> object:
    user = api_user(request)
    shop = user.shop
    assert shop is not None  # noqa: S101
    with transaction.atomic():
        if body.intake_synchronous is not None:
            services.set_intake_mode(actor=user, synchronous=body.intake_synchronous)
        services.set_rate_limits(
            actor=user,
            limits=services.RateLimits(
                intake_per_minute=body.intake_per_minute,
                intake_per_buyer_per_minute=body.intake_per_buyer_per_minute,
                widget_messages_per_minute=body.widget_messages_per_minute,
                widget_chats_per_hour=body.widget_chats_per_hour,
            ),
        )
        return services.update_shop_settings(
            actor=user,
            name=body.name if body.name is not None else shop.name,
            timezone_name=body.timezone or shop.timezone,
            currency=body.currency or shop.currency,
            callback_url=body.callback_url if body.callback_url is not None else shop.callback_url,
            sign_replies=body.sign_replies if body.sign_replies is not None else shop.sign_replies,
            signature_template=body.signature_template or shop.signature_template,
        )


@router.get("/agents", response=list[AgentOut])
def list_agents(request: HttpRequest) -> list[User]:
    return list(team_of(api_user(request)))


@router.post("/agents", response={201: AgentCreated})
@needs(Capability.MANAGE_AGENTS)
def create_agent(request: HttpRequest, body: AgentIn) -> Status[AgentCreated]:
    user = api_user(request)
    agent, password = services.create_agent(
        actor=user,
        shop=shop_of(user),
        login=body.login,
        groups=body.groups,
        password=body.password,
        display_name=body.display_name,
        can_manage_settings=body.can_manage_settings,
        can_issue_refunds=body.can_issue_refunds,
        refund_limit=body.refund_limit,
        can_create_campaigns=body.can_create_campaigns,
    )
    return Status(201, AgentCreated(**AgentOut.from_orm(agent).dict(), password=password))


@router.post("/agents/{agent_id}/disable", response=AgentOut)
def disable_agent(request: HttpRequest, agent_id: int) -> User:
    user = api_user(request)
    agent = access_member(user, agent_id)
    team.set_agent_active(actor=user, agent=agent, active=False)
    return agent


class TokenOut(Schema):
    id: int
    name: str
    login: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    live: bool

    @staticmethod
    def resolve_login(obj: ApiToken) -> str:
        return obj.user.username

    @staticmethod
    def resolve_live(obj: ApiToken) -> bool:
        return obj.is_live


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    days: int = Field(default=tokens.DEFAULT_DAYS, ge=1, le=tokens.MAX_DAYS)


class TokenCreated(Schema):
    # TokenOut's fields without its resolvers, which read a token: this answer is built.
    id: int
    name: str
    login: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    live: bool
    token: str = Field(description="the raw token; shown only in this answer")


@router.get("/tokens", response=list[TokenOut])
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    """Your personal tokens; the main account gets every login's."""
    return list(tokens.tokens_visible_to(api_user(request)))


@router.post("/tokens", response={201: TokenCreated})
def create_token(request: HttpRequest, body: TokenIn) -> Status[TokenCreated]:
    """A personal token for the calling login, valid `days` days (default 90, at most 365)."""
    token, raw = tokens.create_api_token(user=api_user(request), name=body.name, days=body.days)
    return Status(201, TokenCreated(**TokenOut.from_orm(token).dict(), token=raw))


@router.post("/tokens/{token_id}/revoke", response=TokenOut)
def revoke_token(request: HttpRequest, token_id: int) -> ApiToken:
    """Revoke one of your tokens (the main account: any of the shop's); it stops at once."""
    return tokens.revoke_api_token(token=tokens.access_token(api_user(request), token_id))


class PingOut(Schema):
    ok: bool
    status: int | None
    detail: str
    answered_at: dt.datetime | None = Field(description="the last 2xx answer to a test ping")


@router.post("/callback-ping", response={200: PingOut, 400: Problem})
@needs(Capability.MANAGE_SETTINGS)
def callback_ping(request: HttpRequest) -> PingOut:
    """POST a signed `{"kind": "ping"}` to the shop's callback URL; a 2xx answer is recorded
    and counts as "marketplace connected" on the setup checklist."""
    user = api_user(request)
    result = send_test_ping(actor=user)
    shop = shop_of(user)
    shop.refresh_from_db(fields=["callback_ping_at"])
    return PingOut(
        ok=result.ok, status=result.status, detail=result.detail, answered_at=shop.callback_ping_at
    )


class SetupStepOut(Schema):
    key: str
    title: str
    done: bool
    status: str
    url: str


class SetupOut(Schema):
    done: int
    total: int
    complete: bool
    next: str | None
    steps: list[SetupStepOut]


def _setup_out(request: HttpRequest) -> SetupOut:
    checklist = setup_checklist(shop_of(api_user(request)))
    return SetupOut(
        done=checklist.done_count,
        total=len(checklist.steps),
        complete=checklist.complete,
        next=checklist.next_step.key if checklist.next_step else None,
        steps=[
            SetupStepOut(key=s.key, title=str(s.title), done=s.done, status=s.status, url=s.url)
            for s in checklist.steps
        ],
    )


@router.get("/setup", response={200: SetupOut, 403: Problem})
@needs(Capability.MANAGE_SETTINGS)
def get_setup(request: HttpRequest) -> SetupOut:
    """The setup checklist of the owner's home: what is done and what is next."""
    return _setup_out(request)


class StarterOut(Schema):
    scripts: int
    keywords: int
    welcome: bool
    out_of_hours: bool


@router.post("/setup/starter", response=StarterOut)
@needs(Capability.MANAGE_SETTINGS)
def post_starter(request: HttpRequest) -> StarterOut:
    """Install what is missing of the starter set (scripts, keyword set, welcome texts);
    a second call adds nothing."""
    installed = install_starter_set(shop=shop_of(api_user(request)))
    return StarterOut(
        scripts=installed.scripts,
        keywords=installed.keywords,
        welcome=installed.welcome,
        out_of_hours=installed.out_of_hours,
    )
