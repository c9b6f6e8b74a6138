"""Every page and API endpoint of the inbox as anonymous, another shop, a narrower sub-account
and the right user (style rule 5). A denied request changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kefu.accounts.models import ApiToken, User
from kefu.accounts.tokens import create_api_token
from kefu.conversations.marks import add_mark
from kefu.conversations.models import (
    AgentPresence,
    Conversation,
    ConversationEvent,
    ConversationMark,
    MediaFile,
    Message,
    Outbox,
)
from kefu.desk.replies import send_reply
from kefu.orders.models import Order
from tests.conftest import login_client
from tests.helpers import buyer_says, image_bytes, online
from tests.orders.factories import make_order
from tests.url_routes import all_routes

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    data: dict[str, Any] | None = None
    api: bool = False
    # Who besides the owner may do it: "agent" = the conversation's own agent.
    allowed: tuple[str, ...] = ("owner",)
    # Sent as a multipart form with a fresh image in `image` (an attachment).
    multipart: bool = False


@pytest.fixture
def world(shop, owner, pre_agent, after_agent, product, rival):
    online(pre_agent)
    conv = buyer_says(shop, product=product.external_id).conversation  # Lily's product
    assert conv.assignee == pre_agent
    mark = add_mark(actor=owner, conversation=conv, color="yellow")
    make_order(shop, "MATRIX-1", buyer=conv.buyer.external_id, products=[product])
    create_api_token(user=pre_agent, name="lily's sync")
    # A reply the marketplace refused, to retry; the shop is connected, so a retry may go.
    send_reply(actor=pre_agent, conversation=conv, text="It is in stock.")
    Outbox.objects.update(status="not_delivered", reason="refused")
    shop.callback_url = "https://marketplace.example/kefu"
    shop.save()
    return {"conv": conv, "shop": shop, "mark": mark}


def cases(conv: Conversation, pre_agent: User) -> list[Case]:
    c = conv.pk
    m = conv.marks.filter(color="yellow").earliest("pk").pk
    o = Order.objects.get(shop_id=conv.shop_id, external_id="MATRIX-1").pk
    t = ApiToken.objects.get(user=pre_agent, name="lily's sync").pk
    r = Message.objects.filter(conversation=conv, direction="agent").earliest("pk").pk
    both = ("owner", "agent")
    return [
        Case("get", "/inbox/", allowed=(*both, "narrow")),
        Case("get", "/inbox/list/", allowed=(*both, "narrow")),
        Case("get", f"/inbox/{c}/", allowed=both),
        Case("get", f"/inbox/{c}/messages/", allowed=both),
        Case("get", f"/inbox/{c}/timeline/", allowed=both),
        Case("post", f"/inbox/{c}/read/", {}, allowed=both),
        Case("get", f"/inbox/{c}/tools/", allowed=both),
        Case("post", f"/inbox/{c}/language/", {"language": "ru"}, allowed=both),
        Case("get", f"/api/v1/conversations/{c}/suggestions", api=True, allowed=both),
        Case("post", f"/inbox/{c}/marks/", {"color": "label", "label": "vip-{who}"}, allowed=both),
        Case(
            "post",
            f"/inbox/{c}/marks/{m}/tracking/",
            {"tracking_number": "LP1", "text": "LP1"},
            allowed=both,
        ),
        Case("get", "/marks/follow-up/", allowed=(*both, "narrow")),
        Case("get", "/marks/quality/", allowed=(*both, "narrow")),
        Case("get", f"/api/v1/conversations/{c}/marks", api=True, allowed=both),
        Case(
            "post",
            f"/api/v1/conversations/{c}/marks",
            {"color": "label", "label": "api-{who}"},
            api=True,
            allowed=both,
        ),
        Case(
            "post",
            f"/api/v1/conversations/{c}/marks/{m}/tracking",
            {"tracking_number": "LP2", "text": "LP2"},
            api=True,
            allowed=both,
        ),
        Case("post", f"/inbox/{c}/marks/{m}/clear/", {}, allowed=both),
        Case("post", f"/api/v1/conversations/{c}/marks/{m}/clear", {}, api=True, allowed=both),
        Case("post", f"/inbox/{c}/reply/", {"text": "hello"}, allowed=both),
        Case("post", f"/inbox/{c}/reply/check/", {"text": "hello"}, allowed=both),
        Case("post", f"/inbox/{c}/messages/{r}/retry/", {}, allowed=both),
        Case("post", f"/api/v1/conversations/{c}/messages/{r}/retry", {}, api=True, allowed=both),
        Case("post", f"/api/v1/conversations/{c}/images", api=True, allowed=both, multipart=True),
        Case("post", f"/inbox/{c}/order/", {"order": o}, allowed=both),
        Case("post", f"/inbox/{c}/product-card/", {"product": "P-100"}, allowed=both),
        Case("post", f"/inbox/{c}/resolve/", {}, allowed=both),
        Case("post", f"/inbox/{c}/reopen/", {}, allowed=both),
        Case("post", f"/inbox/{c}/assign/", {"agent": pre_agent.pk}, allowed=both),
        Case("post", "/inbox/presence/", {"status": "available"}, allowed=(*both, "narrow")),
        Case("get", "/settings/", allowed=(*both, "narrow")),
        Case(
            "post",
            "/settings/",
            {
                "name": "Renamed",
                "timezone": "UTC",
                "currency": "USD",
                "signature_template": "{agent_name}",
            },
        ),
        Case("get", "/settings/agents/"),
        Case(
            "post",
            "/settings/agents/",
            {"login": "newbie", "groups": ["pre_sale"], "password": "long-enough-pw"},
        ),
        Case("get", "/api/v1/conversations", api=True, allowed=(*both, "narrow")),
        Case("get", f"/api/v1/conversations/{c}", api=True, allowed=both),
        Case("get", f"/api/v1/conversations/{c}/messages", api=True, allowed=both),
        Case("post", f"/api/v1/conversations/{c}/replies", {"text": "hi"}, api=True, allowed=both),
        Case(
            "post",
            f"/api/v1/conversations/{c}/product-cards",
            {"product_external_id": "P-100"},
            api=True,
            allowed=both,
        ),
        Case("post", f"/api/v1/conversations/{c}/read", {}, api=True, allowed=both),
        Case("post", f"/api/v1/conversations/{c}/resolve", {}, api=True, allowed=both),
        Case("post", f"/api/v1/conversations/{c}/reopen", {}, api=True, allowed=both),
        Case(
            "post",
            f"/api/v1/conversations/{c}/assign",
            {"agent_id": pre_agent.pk},
            api=True,
            allowed=both,
        ),
        Case(
            "post",
            "/api/v1/conversations/presence",
            {"status": "available"},
            api=True,
            allowed=(*both, "narrow"),
        ),
        Case("get", "/api/v1/shop", api=True, allowed=(*both, "narrow")),
        Case("patch", "/api/v1/shop", {"name": "Renamed"}, api=True),
        Case("get", "/api/v1/shop/agents", api=True, allowed=(*both, "narrow")),
        Case(
            "post",
            "/api/v1/shop/agents",
            {"login": "newbie2", "groups": ["pre_sale"], "password": "long-enough-pw"},
            api=True,
        ),
        Case("get", "/settings/tokens/", allowed=(*both, "narrow")),
        Case(
            "post", "/settings/tokens/", {"name": "t-{who}", "days": "9"}, allowed=(*both, "narrow")
        ),
        Case("get", "/api/v1/shop/tokens", api=True, allowed=(*both, "narrow")),
        Case(
            "post",
            "/api/v1/shop/tokens",
            {"name": "api-{who}", "days": 9},
            api=True,
            allowed=(*both, "narrow"),
        ),
        # A token is revoked by its own login or the main account, nobody else.
        Case("post", f"/settings/tokens/{t}/revoke/", {}, allowed=both),
        Case("post", f"/api/v1/shop/tokens/{t}/revoke", {}, api=True, allowed=both),
        # Disabling last: the cases above still need the agent active.
        Case("post", f"/settings/agents/{pre_agent.pk}/", {"action": "disable"}),
        Case("post", f"/api/v1/shop/agents/{pre_agent.pk}/disable", {}, api=True),
    ]


def snapshot() -> tuple[Any, ...]:
    return (
        list(
            Conversation.objects.order_by("pk").values_list(
                "status", "assignee_id", "unread_count", "order_external_id"
            )
        ),
        Message.objects.count(),
        ConversationEvent.objects.count(),
        list(ConversationMark.objects.order_by("pk").values_list("cleared_at", "duty_done_at")),
        list(
            User.objects.filter(shop__slug="aurora")
            .order_by("pk")
            .values_list("username", "is_active", "display_name")
        ),
        list(AgentPresence.objects.order_by("pk").values_list("status")),
        __import__("kefu.accounts.models", fromlist=["Shop"]).Shop.objects.get(slug="aurora").name,
        list(
            ApiToken.objects.filter(shop__slug="aurora")
            .order_by("pk")
            .values_list("name", "revoked_at")
        ),
        list(Outbox.objects.order_by("pk").values_list("status", "attempts")),
        MediaFile.objects.count(),
    )


def call(client: Client, case: Case, who: str = "x"):
    data = {
        k: v.replace("{who}", who) if isinstance(v, str) else v
        for k, v in (case.data or {}).items()
    }
    if case.multipart:
        image = SimpleUploadedFile(f"{who}.png", image_bytes("PNG"), "image/png")
        return client.post(case.path, data={"image": image})
    case = Case(case.method, case.path, data, case.api, case.allowed)
    if case.api and case.method == "get":
        return client.get(case.path)
    if case.api:
        body = json.dumps(case.data or {})
        return getattr(client, case.method)(case.path, data=body, content_type="application/json")
    return getattr(client, case.method)(case.path, data=case.data or {})


def run_denied(client: Client, case: Case, expected: set[int]) -> None:
    before = snapshot()
    response = call(client, case)
    assert response.status_code in expected, (case.method, case.path, response.status_code)
    assert snapshot() == before, f"denied {case.method} {case.path} changed data"


def test_anonymous_is_sent_to_login_or_gets_401(world, pre_agent):
    for case in cases(world["conv"], pre_agent):
        expected = {401} if case.api else {302}
        run_denied(Client(), case, expected)


def test_another_shop_sees_nothing(world, pre_agent, rival):
    client = login_client(rival)
    for case in cases(world["conv"], pre_agent):
        segments = case.path.strip("/").split("/")
        names_our_object = str(world["conv"].pk) in segments or str(pre_agent.pk) in segments
        if names_our_object:
            run_denied(client, case, {403, 404})
            continue
        # Shop-level pages act on the rival's own shop: ours must stay untouched.
        before = snapshot()
        response = call(client, case)
        assert response.status_code < 500
        assert b"Ivan" not in response.content
        after = snapshot()
        assert after[:5] == before[:5], (case.method, case.path)
        assert after[6] == before[6], (case.method, case.path)
        assert after[7] == before[7], (case.method, case.path)
        assert after[8:] == before[8:], (case.method, case.path)


def test_sub_account_without_the_right_is_refused(world, pre_agent, after_agent):
    client = login_client(after_agent)  # another group, not its product, not assigned
    for case in cases(world["conv"], pre_agent):
        if "narrow" in case.allowed:
            continue
        run_denied(client, case, {403, 404})


def test_the_right_users_succeed(world, pre_agent, owner):
    for who, user in (("agent", pre_agent), ("owner", owner)):
        # Each user gets the yellow duty fresh: the previous pass did and cleared it.
        ConversationMark.objects.filter(pk=world["mark"].pk).update(
            cleared_at=None, cleared_by=None, duty_done_at=None
        )
        for case in cases(world["conv"], pre_agent):
            if who not in case.allowed:
                continue
            # ...and the refused reply to retry, each time.
            Outbox.objects.update(status="not_delivered", reason="refused")
            response = call(login_client(user), case, who)
            assert response.status_code < 400, (
                who,
                case.method,
                case.path,
                response.status_code,
                response.content[:300],
            )


def test_every_inbox_and_settings_url_is_in_the_matrix(world, pre_agent):
    covered = {c.path.split("?")[0] for c in cases(world["conv"], pre_agent)}
    conv_id = str(world["conv"].pk)

    routes = [r for r in all_routes() if r.startswith(("inbox/", "settings/"))]
    for route in routes:
        concrete = "/" + (
            route.replace("<int:conversation_id>", conv_id)
            .replace("<int:user_id>", str(pre_agent.pk))
            .replace("<int:mark_id>", str(world["mark"].pk))
            .replace(
                "<int:message_id>",
                str(
                    Message.objects.filter(conversation=world["conv"], direction="agent")
                    .earliest("pk")
                    .pk
                ),
            )
            .replace("<int:token_id>", str(ApiToken.objects.get(user=pre_agent).pk))
        )
        assert concrete in covered, f"{concrete} is not in the permission matrix"


def rights() -> list[tuple[Any, ...]]:
    return list(
        User.objects.filter(shop__slug="aurora")
        .order_by("pk")
        .values_list(
            "username",
            "can_manage_settings",
            "can_issue_refunds",
            "refund_limit",
            "can_create_campaigns",
        )
    )


def test_a_granted_sub_account_never_grants_above_itself(world, pre_agent, after_agent):
    """Lily may manage the team and refund up to 5: every route that creates or edits an
    account refuses to give anyone (herself included) more than she holds."""
    User.objects.filter(pk=pre_agent.pk).update(
        can_manage_settings=True, can_issue_refunds=True, refund_limit=5
    )
    client = login_client(pre_agent)
    above = {"can_issue_refunds": "on", "refund_limit": "50", "groups": ["pre_sale"]}
    attempts = [
        Case(
            "post", "/settings/agents/", {"login": "boss2", **above, "password": "long-enough-pw"}
        ),
        Case("post", f"/settings/agents/{after_agent.pk}/", above),
        Case("post", f"/settings/agents/{pre_agent.pk}/", above),
        Case("post", f"/settings/agents/{after_agent.pk}/", {"can_create_campaigns": "on"}),
        Case(
            "post",
            "/api/v1/shop/agents",
            {"login": "boss3", "groups": ["pre_sale"], "can_issue_refunds": True},
            api=True,
        ),
    ]
    for case in attempts:
        before = (rights(), snapshot())
        response = call(client, case)
        assert response.status_code in {302, 400, 403}, (case.path, response.status_code)
        assert (rights(), snapshot()) == before, f"{case.method} {case.path} granted above Lily"
