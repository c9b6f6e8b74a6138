"""The one access gate: `shop_view` on every page, an auth class on every API operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from ninja.operation import Operation

from kefu.accounts.access import (
    SHOP_VIEW_RULE,
    ShopRequest,
    ShopSessionAuth,
    TokenAuth,
    shop_view,
)
from kefu.accounts.models import User
from kefu.accounts.permissions import Capability
from kefu.api import api
from kefu.core import views as core_views
from kefu.integrations.webhook_auth import SignedWebhook
from tests.url_routes import route_views

# Pages anyone may open, each with why it needs no shop login.
PUBLIC_PAGES: dict[str, str] = {
    "kefu.core.views.home": "redirects to the inbox, which asks for a login",
    "kefu.core.views.healthz": "health check for the load balancer; no shop data",
    "kefu.core.views.set_language": "switches the interface language of the session",
    "kefu.accounts.views.LoginView": "the login form",
    "kefu.accounts.views.logout": "ends the session",
    "kefu.conversations.widget_views.chat": "the public chat widget buyers open",
    "kefu.conversations.widget_views.send": "the public chat widget: a buyer sends",
    "kefu.conversations.widget_views.messages": "the public chat widget: a buyer polls",
    "kefu.conversations.widget_views.invitation_shown": "the public chat widget: an invitation "
    "is about to show (for the browser holding the widget's signed cookie)",
    "kefu.conversations.widget_views.invitation_accept": "the public chat widget: the buyer "
    "accepts an invitation",
    "kefu.conversations.widget_views.opt_out": "the public chat widget: the buyer opts out of "
    "marketing messages",
    "kefu.conversations.views.media_file": "an image the shop sent buyers, behind a random "
    "token; marketplaces fetch it without a login (decisions §31)",
}


def _name(view: Callable[..., Any]) -> str:
    target = getattr(view, "view_class", view)
    return f"{target.__module__}.{target.__qualname__}"


def _is_api(route: str) -> bool:
    # django-ninja's own views; its operations are checked one by one below.
    return route.startswith("api/v1/")


def unguarded_pages(routes: list[tuple[str, Callable[..., Any]]]) -> list[str]:
    """Routes whose page is neither public nor wrapped by `shop_view`."""
    return [
        f"{route} -> {_name(view)}"
        for route, view in routes
        if not _is_api(route)
        and _name(view) not in PUBLIC_PAGES
        and getattr(view, SHOP_VIEW_RULE, None) is None
    ]


def test_every_page_goes_through_shop_view(db):
    assert unguarded_pages(route_views()) == []


def test_a_page_without_shop_view_is_caught():
    def bare(request: HttpRequest) -> HttpResponse:
        return HttpResponse("shop data")

    @shop_view()
    def guarded(request: ShopRequest) -> HttpResponse:
        return HttpResponse("shop data")

    routes = [("bare/", bare), ("guarded/", guarded), ("", core_views.home)]
    assert unguarded_pages(routes) == [f"bare/ -> {bare.__module__}.{bare.__qualname__}"]


def test_the_public_list_names_only_views_that_are_routed(db):
    routed = {_name(view) for route, view in route_views() if not _is_api(route)}
    assert set(PUBLIC_PAGES) <= routed


def _operations() -> list[tuple[str, Operation]]:
    # The operations as mounted (ninja clones each router's operations when it binds them).
    found = []
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            found.extend((f"{bound.prefix}{path}", op) for op in path_view.operations)
    return found


def test_every_api_operation_needs_a_shop_login_or_a_signature():
    operations = _operations()
    assert len(operations) > 50
    for path, operation in operations:
        kinds = {type(a) for a in operation.auth_callbacks}
        assert kinds in ({TokenAuth, ShopSessionAuth}, {SignedWebhook}), (path, kinds)
        if kinds == {SignedWebhook}:
            assert "inbound" in path, path


# --- what shop_view does ------------------------------------------------------------------------


@shop_view(capability=Capability.MANAGE_AGENTS)
def _agents_only(request: ShopRequest) -> HttpResponse:
    return HttpResponse(request.user.username)


@shop_view(post_capability=Capability.MANAGE_SETTINGS)
def _settings_like(request: ShopRequest) -> HttpResponse:
    return HttpResponse(request.user.username)


def _request(method: str, user: Any) -> HttpRequest:
    request = getattr(RequestFactory(), method)("/somewhere/")
    request.user = user
    return request


def test_anonymous_visitors_are_sent_to_the_login_page():
    response = _agents_only(_request("get", AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_login_without_a_shop_or_disabled_is_refused(shop, owner):
    no_shop = User.objects.create_user(username="admin", password="x" * 20)
    with pytest.raises(PermissionDenied):
        _agents_only(_request("get", no_shop))
    owner.is_active = False
    with pytest.raises(PermissionDenied):
        _agents_only(_request("get", owner))


def test_the_capability_is_required(owner, pre_agent):
    assert _agents_only(_request("get", owner)).content == b"owner"
    with pytest.raises(PermissionDenied):
        _agents_only(_request("get", pre_agent))


def test_the_post_capability_is_required_only_to_post(owner, pre_agent):
    assert _settings_like(_request("get", pre_agent)).content == b"lily"
    with pytest.raises(PermissionDenied):
        _settings_like(_request("post", pre_agent))
    assert _settings_like(_request("post", owner)).content == b"owner"


def test_the_openapi_schema_builds_and_names_each_operations_auth(db):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    webhook = schema["paths"]["/api/v1/inbound/messages"]["post"]
    assert webhook["security"] == [{"SignedWebhook": []}]
    inbox = schema["paths"]["/api/v1/conversations"]["get"]
    assert inbox["security"] == [{"TokenAuth": []}, {"ShopSessionAuth": []}]
    # Typed answers, not free-form objects.
    risk = schema["paths"]["/api/v1/orders/risk"]["get"]["responses"]
    assert "$ref" in str(risk)
