"""Every order, automation, compliance and metrics page and API route as anonymous, another
shop, a sub-account without the right and the right users (style rule 5).

A denied request changes nothing: every row of the shop-owned tables is compared before and
after it. An allowed write must change something and an allowed read nothing, which also
proves the snapshot would have seen a denied write. Each request runs in a savepoint that is
rolled back, so every case starts from the same world and the order of the cases is free.

Roles: "owner" (the main account), "agent" (Lily: owns product P-100, serves the buyer's
conversation, the order with her product is hers to see) and "peer" (Max: a sub-account of the
same shop with no tie to those objects). `rival` owns another shop.

The last tests check that every URL of the project is in this matrix, in the inbox matrix of
tests/test_permission_matrix.py, or in the public allow-list with its reason.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.http import HttpResponseBase
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.automation.config import update_automation_settings
from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from kefu.automation.models import KeywordRule
from kefu.automation.quick_replies import create_quick_reply
from kefu.automation.scripts import ScriptInput, create_script
from kefu.care.complaints import ComplaintInput, open_complaint
from kefu.care.config import SettingsInput as CareSettingsInput
from kefu.care.config import save_care_settings
from kefu.care.followups import RuleInput as FollowUpRuleInput
from kefu.care.followups import save_rule
from kefu.care.models import CallTask, CareAlert, ReviewTask
from kefu.care.promises import PromiseInput, record_promise
from kefu.care.returns import open_return
from kefu.care.reviews import ReviewInput, store_review
from kefu.care.revisit_actions import call_for_revisit
from kefu.care.services import CaseInput, save_case
from kefu.care.watch import watch_shop
from kefu.catalog.models import Product
from kefu.catalog.services import ProductData, create_product
from kefu.compliance.models import ComplianceFinding
from kefu.conversations.models import Buyer, Direction, Message
from kefu.integrations.adapters import CallbackAdapter
from kefu.integrations.signing import signed_headers
from kefu.metrics.models import MetricsSettings
from kefu.metrics.refresh import rebuild_shop
from kefu.orders.config import default_order_settings
from kefu.orders.inputs import ItemInput, OrderInput
from kefu.orders.models import (
    ImportRun,
    ImportStatus,
    Order,
    OrderItem,
    OrderSource,
    OrderStatus,
)
from kefu.orders.upserts import upsert_orders
from kefu.outreach.invitations import InvitationInput, save_invitation
from kefu.outreach.selectors import SegmentFilters
from kefu.outreach.services import create_campaign, save_segment
from tests.conftest import login_client
from tests.helpers import buyer_says, online, set_quiet_hours
from tests.test_permission_matrix import cases as inbox_cases
from tests.test_permission_matrix import world as inbox_world  # noqa: F401 - a fixture
from tests.url_routes import all_routes

pytestmark = pytest.mark.django_db

OWNER = ("owner",)
OWN = ("owner", "agent")  # the main account and the agent the objects belong to
EVERYONE = ("owner", "agent", "peer")  # any login of the shop

MANAGE = "can_manage_settings"
REFUNDS = "can_issue_refunds"
CAMPAIGNS = "can_create_campaigns"

SHOP_APPS = (
    "accounts",
    "catalog",
    "conversations",
    "orders",
    "automation",
    "compliance",
    "care",
    "outreach",
    "metrics",
)
EXPORT = Path(__file__).parent / "orders" / "fixtures" / "tmall_traditional_bom.csv"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    data: dict[str, Any] | None = None
    api: bool = False
    allowed: tuple[str, ...] = OWNER
    # A sub-account holding this grant may do it too.
    grant: str | None = None
    # The path or body names an object of our shop: another shop gets 403/404. Otherwise the
    # request acts on the caller's own shop.
    ours: bool = False
    # What an allowed user's request does to the rows; None: writes unless it is a GET.
    writes: bool | None = None
    # How a shop member without the right is refused.
    denied: frozenset[int] = frozenset({403, 404})

    @property
    def changes_rows(self) -> bool:
        return self.method != "get" if self.writes is None else self.writes


def _rules(prefix: str = "AURORA-KW") -> list[dict[str, Any]]:
    return [
        {"keyword": "refund", "reply_type": "text", "text": f"{prefix} refunds take 3-20 days."},
        {"keyword": "tracking", "reply_type": "text", "text": f"{prefix} see the order page."},
        {"keyword": "invoice", "reply_type": "text", "text": f"{prefix} invoices on request."},
    ]


def _keyword_form() -> dict[str, str]:
    form = {"samples": "refund please"}
    for i, rule in enumerate(_rules("NEW-KW")):
        form |= {
            f"keyword_{i}": rule["keyword"],
            f"type_{i}": "text",
            f"text_{i}": rule["text"],
            f"active_{i}": "on",
        }
    return form


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("export.csv", EXPORT.read_bytes(), content_type="text/csv")


def _product_upload() -> SimpleUploadedFile:
    data = "宝贝名称,宝贝价格,宝贝ID\n台灯,25.00,P-900\n".encode("gbk")
    return SimpleUploadedFile("products.csv", data, content_type="text/csv")


ORDER_SETTINGS_FORM = {
    "payment_reminder_enabled": "on",
    "payment_reminder_delay_minutes": "30",
    "payment_reminder_max_age_hours": "24",
    "quiet_start": "23:00",
    "quiet_end": "07:30",
    "ship_by_hours": "24",
    "refund_days": "5-15",
    "risk_window_hours": "6",
    "penalty_percent": "25",
    "penalty_cap": "300",
    "penalty_cap_currency": "CNY",
    "stall_days": "5",
    "tracking_links": "Cainiao = https://track.example/cn?no={number}",
}
AUTO_REPLY_FORM = {
    "welcome_enabled": "on",
    "welcome_text": "Hello! We answer 9:00-18:00 Beijing time.",
    "agent_quiet_minutes": "15",
    "keyword_replies_enabled": "on",
    "languages": ["en", "ru"],
    "opens_0": "09:00",
    "closes_0": "18:00",
    "holidays": "2026-10-01 National Day",
}
AUTOMATION_SETTINGS = {
    "welcome_enabled": True,
    "welcome_text": "Hi there",
    "out_of_hours_enabled": False,
    "out_of_hours_text": "",
    "agent_quiet_minutes": 5,
    "keyword_replies_enabled": True,
    "suggestions_enabled": True,
    "languages": ["en"],
}
SCRIPT_FORM = {
    "stage": "after_sale",
    "topic": "Refunds",
    "title": "Edited {who}",
    "examples": "where is my money",
    "body_en": "Hi {buyer_name}, the refund is on its way.",
}
PRODUCT_FORM = {
    "external_id": "NEW-{who}",
    "title": "Night light {who}",
    "price": "12.50",
    "stock": "3",
    "free_shipping": "on",
    "shelf_life": "2 years",
}
PRODUCT_JSON = {"external_id": "API-{who}", "title": "Reading lamp {who}", "price": "19.90"}
SCRIPT_JSON = {
    "stage": "after_sale",
    "topic": "Refunds",
    "title": "API script {who}",
    "variants": {"en": "Hi {buyer_name}, the refund is on its way."},
}


def care_cases(w: World) -> list[Case]:
    """After-sale care (issue 16): a sub-account sees the complaints, promises and alerts of
    its own chats, orders and products; surges are the owners'."""
    c, given, lamp = w.conv.pk, w.given_order.pk, w.order.pk
    ret, call = w.care["return"], w.care["call"]
    mine, other = w.care["complaint"], w.care["other_complaint"]
    promise, surge, due = w.care["promise"], w.care["surge"], w.care["promise_alert"]
    api = {"api": True}
    due_at = "2027-06-01T10:00:00+08:00"
    return [
        Case("get", "/care/complaints/", allowed=EVERYONE),
        Case("get", "/care/complaints/?status=all&cause=quality", allowed=EVERYONE),
        Case("get", "/care/complaints/new/", allowed=EVERYONE),
        Case("get", f"/care/complaints/new/?conversation={c}", allowed=OWN, ours=True),
        Case(
            "post",
            "/care/complaints/new/",
            {"conversation": c, "cause": "quality", "summary": "Cracked {who}"},
            allowed=OWN,
            ours=True,
        ),
        Case(
            "post",
            "/care/complaints/new/",
            {"cause": "price", "summary": "Too dear {who}"},
            allowed=EVERYONE,
        ),
        Case("get", "/care/complaints/analysis/", allowed=EVERYONE),
        Case("get", "/care/complaints/analysis/?export=csv", allowed=EVERYONE),
        Case("get", f"/care/complaints/{mine}/", allowed=OWN, ours=True),
        Case("get", f"/care/complaints/{other}/", ours=True),
        Case(
            "post", f"/care/complaints/{mine}/", {"status": "waiting_buyer"}, allowed=OWN, ours=True
        ),
        Case("get", "/care/promises/", allowed=EVERYONE),
        Case("get", f"/care/promises/new/?conversation={c}", allowed=OWN, ours=True),
        Case(
            "post",
            "/care/promises/new/",
            {"conversation": c, "what": "Invoice {who}", "due": "2027-06-01T10:00"},
            allowed=OWN,
            ours=True,
        ),
        Case(
            "post",
            "/care/promises/commitment/",
            {"order": given, "kind": "repair", "days": "30"},
            allowed=OWN,
            ours=True,
        ),
        Case(
            "post", f"/care/promises/{promise}/close/", {"outcome": "kept"}, allowed=OWN, ours=True
        ),
        Case("get", "/care/alerts/bar/", allowed=EVERYONE),
        Case("get", f"/care/alerts/{surge}/", ours=True),
        Case("get", f"/care/alerts/{due}/", allowed=OWN, ours=True),
        Case("post", f"/care/alerts/{due}/dismiss/", {}, allowed=OWN, ours=True),
        Case("get", "/care/settings/", allowed=EVERYONE),
        Case("post", "/care/settings/", CARE_SETTINGS_FORM, grant=MANAGE),
        Case("get", "/care/returns/", allowed=EVERYONE),
        Case("get", "/care/revisits/?lead=5", allowed=EVERYONE),
        Case("get", "/care/calls/", allowed=EVERYONE),
        Case(
            "post", "/care/calls/", {"task": call, "outcome": "no_answer"}, allowed=OWN, ours=True
        ),
        Case("get", "/api/v1/care/calls", allowed=EVERYONE, **api),
        Case(
            "post",
            f"/api/v1/care/calls/{call}/log",
            {"outcome": "agreed"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", "/care/feedback/", allowed=EVERYONE),
        Case("get", "/care/feedback/?export=xlsx", allowed=EVERYONE),
        Case("get", f"/care/feedback/new/?conversation={c}", allowed=OWN, ours=True),
        Case(
            "post",
            "/care/feedback/new/",
            {"conversation": c, "kind": "suggestion", "text": "Warmer light {who}"},
            allowed=OWN,
            ours=True,
        ),
        Case("get", "/api/v1/care/feedback", allowed=EVERYONE, **api),
        Case(
            "post",
            "/api/v1/care/feedback",
            {"conversation_id": c, "kind": "opinion", "text": "Bright {who}"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", "/api/v1/care/revisits?lead=5", allowed=EVERYONE, **api),
        *followup_cases(w),
        Case("get", "/care/returns/new/", allowed=EVERYONE),
        Case("get", f"/care/returns/new/?conversation={c}", allowed=OWN, ours=True),
        Case(
            "post",
            "/care/returns/new/",
            {"order": lamp, "kind": "exchange", "reason": "Wrong colour {who}"},
            allowed=OWN,
            ours=True,
        ),
        Case("get", f"/care/returns/{ret}/", allowed=OWN, ours=True),
        Case("post", f"/care/returns/{ret}/", {"step": "approved"}, allowed=OWN, ours=True),
        Case(
            "post",
            f"/care/returns/{ret}/send/",
            {"text": "Please send it back, {who}."},
            allowed=OWN,
            ours=True,
        ),
        # --- the API ------------------------------------------------------------------------
        Case("get", "/api/v1/care/complaints", allowed=EVERYONE, **api),
        Case(
            "post",
            "/api/v1/care/complaints",
            {"cause": "quality", "conversation_id": c, "summary": "API {who}"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("post", "/api/v1/care/complaints", {"cause": "price"}, allowed=EVERYONE, **api),
        Case("get", "/api/v1/care/complaints/analysis", allowed=EVERYONE, **api),
        Case("get", f"/api/v1/care/complaints/{mine}", allowed=OWN, ours=True, **api),
        Case("get", f"/api/v1/care/complaints/{other}", ours=True, **api),
        Case(
            "patch",
            f"/api/v1/care/complaints/{mine}",
            {"status": "waiting_platform"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", "/api/v1/care/promises", allowed=EVERYONE, **api),
        Case(
            "post",
            "/api/v1/care/promises",
            {"what": "Ship {who}", "due_at": due_at, "conversation_id": c},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case(
            "post",
            "/api/v1/care/promises/commitments",
            {"order_id": given, "kind": "return_window"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case(
            "post",
            f"/api/v1/care/promises/{promise}/close",
            {"kept": False, "note": "late {who}"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", "/api/v1/care/alerts", allowed=EVERYONE, **api),
        Case("post", f"/api/v1/care/alerts/{due}/dismiss", {}, allowed=OWN, ours=True, **api),
        Case("get", "/api/v1/care/settings", allowed=EVERYONE, **api),
        Case("get", "/api/v1/care/returns", allowed=EVERYONE, **api),
        Case(
            "post",
            "/api/v1/care/returns",
            {"order_id": lamp, "kind": "return", "reason": "API {who}"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", f"/api/v1/care/returns/{ret}", allowed=OWN, ours=True, **api),
        Case(
            "post",
            f"/api/v1/care/returns/{ret}/steps",
            {"status": "approved"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("put", "/api/v1/care/settings", CARE_SETTINGS_JSON, grant=MANAGE, **api),
    ]


def review_cases(w: World) -> list[Case]:
    """Reviews (R-43) and the call sources: a sub-account sees the review tasks of its
    products and conversations; invitations for the orders it may see."""
    task, other = w.care["review_task"], w.care["other_review_task"]
    invite = w.care["invite_order"]
    api = {"api": True}
    return [
        Case("get", "/care/reviews/", allowed=EVERYONE),
        Case("get", "/care/reviews/?status=all&level=negative", allowed=EVERYONE),
        Case("get", "/care/reviews/import/", grant=MANAGE),
        Case("post", "/care/reviews/import/", {"file": _review_upload}, grant=MANAGE),
        Case("post", "/care/reviews/settings/", REVIEW_SETTINGS_FORM, grant=MANAGE),
        Case("post", "/care/reviews/invite/", {"order": invite}, allowed=OWN, ours=True),
        Case("get", f"/care/reviews/tasks/{task}/", allowed=OWN, ours=True),
        Case("get", f"/care/reviews/tasks/{other}/", ours=True),
        Case(
            "post",
            f"/care/reviews/tasks/{task}/",
            {"status": "contacted", "note": "Called {who}"},
            allowed=OWN,
            ours=True,
        ),
        Case("get", "/api/v1/care/reviews", allowed=EVERYONE, **api),
        Case("get", "/api/v1/care/reviews/tasks?status=", allowed=EVERYONE, **api),
        Case("get", f"/api/v1/care/reviews/tasks/{task}", allowed=OWN, ours=True, **api),
        Case("get", f"/api/v1/care/reviews/tasks/{other}", ours=True, **api),
        Case(
            "post",
            f"/api/v1/care/reviews/tasks/{task}/outcome",
            {"status": "resolved", "note": "Refunded {who}", "compensation_kind": "refund"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case(
            "post",
            "/api/v1/care/reviews/invitations",
            {"order_id": invite},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", "/api/v1/care/reviews/settings", allowed=EVERYONE, **api),
        Case("put", "/api/v1/care/reviews/settings", REVIEW_SETTINGS_JSON, grant=MANAGE, **api),
    ]


def _review_upload() -> SimpleUploadedFile:
    data = "评价ID,订单编号,评分,评价时间\nREV-UP,ORD-AURORA-LAMP,2,2026-11-20 10:00\n"
    return SimpleUploadedFile("reviews.csv", data.encode("gbk"), content_type="text/csv")


REVIEW_SETTINGS_FORM = {
    "tmall_negative_at_most": "2",
    "task_group": "outreach",
    "invite_enabled": "on",
    "invite_after_days": "5",
}
REVIEW_SETTINGS_JSON = {
    "tmall_negative_at_most": 2,
    "task_group": "outreach",
    "invite_enabled": True,
    "invite_after_days": 5,
}


CARE_SETTINGS_FORM = {
    "hours_aliexpress": "96",
    "hours_tmall": "48",
    "hours_taobao": "48",
    "hours_generic": "72",
    "remind_hours_before": "6",
    "surge_min_count": "4",
    "surge_factor": "2.5",
    "promise_due_soon_hours": "12",
    "causes": "Quality 质量问题\nPrice 价格\nFragile box {who}",
}
CARE_SETTINGS_JSON = {
    "dispute_hours": {"aliexpress": 96, "tmall": 48, "taobao": 48, "generic": 72},
    "remind_hours_before": 6,
    "surge_factor": "2.5",
    "surge_min_count": 4,
    "promise_due_soon_hours": 12,
    "causes": ["Quality 质量问题", "Price 价格", "Fragile box {who}"],
}


def cases(w: World) -> list[Case]:
    o, other, b, c = w.order.pk, w.other_order.pk, w.buyer.pk, w.conv.pk
    run, img, s, qr = w.run.pk, w.image_rule.pk, w.script.pk, w.quick_reply.pk
    p = w.product.pk
    api = {"api": True}
    return [
        *care_cases(w),
        *review_cases(w),
        # --- the catalogue: every login reads it; settings rights change it -------------------
        Case("get", "/products/", allowed=EVERYONE),
        Case("get", "/products/?q=lamp&owner=none&main_push=0", allowed=EVERYONE),
        Case("get", "/products/new", grant=MANAGE),
        Case("post", "/products/new", PRODUCT_FORM, grant=MANAGE),
        Case("get", f"/products/{p}/edit", grant=MANAGE, ours=True),
        Case("post", f"/products/{p}/edit", PRODUCT_FORM, grant=MANAGE, ours=True),
        Case("post", f"/products/{p}/delete", {}, grant=MANAGE, ours=True),
        Case(
            "post", "/products/bulk", {"product": p, "action": "main_push"}, grant=MANAGE, ours=True
        ),
        Case("get", "/api/v1/catalog/products", allowed=EVERYONE, **api),
        Case("get", f"/api/v1/catalog/products/{p}", allowed=EVERYONE, ours=True, **api),
        Case("post", "/api/v1/catalog/products", PRODUCT_JSON, grant=MANAGE, **api),
        Case(
            "patch",
            f"/api/v1/catalog/products/{p}",
            {"shelf_life": "2 years {who}"},
            grant=MANAGE,
            ours=True,
            **api,
        ),
        Case("delete", f"/api/v1/catalog/products/{p}", grant=MANAGE, ours=True, **api),
        Case(
            "post",
            "/api/v1/catalog/products/owner",
            {"product_ids": [p], "owner": None},
            grant=MANAGE,
            ours=True,
            **api,
        ),
        Case(
            "post",
            "/api/v1/catalog/products/main-push",
            {"product_ids": [p], "main_push": True},
            grant=MANAGE,
            ours=True,
            **api,
        ),
        # --- first-run setup: the checklist, the starter set, the callback's test ping ------
        Case("get", "/setup/", grant=MANAGE),
        Case("post", "/setup/", {}, grant=MANAGE),
        Case("get", "/api/v1/shop/setup", grant=MANAGE, **api),
        Case("post", "/api/v1/shop/setup/starter", {}, grant=MANAGE, **api),
        Case("post", "/api/v1/shop/callback-ping", {}, grant=MANAGE, **api),
        # --- orders: pages ------------------------------------------------------------------
        Case("get", "/orders/", allowed=EVERYONE),
        Case("get", "/orders/risk/", allowed=EVERYONE),
        Case("get", "/orders/import/", grant=MANAGE),
        Case("post", "/orders/import/", {"file": _upload}, grant=MANAGE),
        Case("get", f"/orders/import/{run}/", grant=MANAGE, ours=True),
        # --- catalogue: the product file upload ---------------------------------------------
        Case("get", "/products/import/", grant=MANAGE),
        Case("post", "/products/import/", {"file": _product_upload}, grant=MANAGE),
        Case("get", "/orders/settings/", allowed=EVERYONE),
        Case("post", "/orders/settings/", ORDER_SETTINGS_FORM, grant=MANAGE),
        Case("get", "/orders/incidents/?carrier=Cainiao", grant=CAMPAIGNS),
        Case(
            "post",
            "/orders/incidents/",
            {"carrier": "Cainiao", "title": "Delay", "text": "Your parcel is safe.", "send": "1"},
            grant=CAMPAIGNS,
        ),
        # The buyer's panel follows the one buyer rule: the owner, and a sub-account
        # with a conversation or an order of its products with that buyer; never the orders
        # it may not see. Another sub-account does not learn the buyer exists.
        Case("get", f"/orders/sidebar/{b}/", allowed=OWN, ours=True),
        # Beside a conversation Lily may not open (Ivan's after-sale chat about the other
        # order, waiting for the after-sale group), her sidebar shows her orders only and
        # never that conversation's order number.
        Case(
            "get", f"/orders/sidebar/{b}/?conversation={w.hidden_conv.pk}", allowed=OWN, ours=True
        ),
        Case("get", f"/orders/{o}/", allowed=OWN, ours=True),
        Case("get", f"/orders/{other}/", ours=True),  # no product of Lily's in it
        # The refund form reports a refusal as a message on the order page (302).
        Case(
            "post",
            f"/orders/{o}/refunds/",
            {"amount": "5", "reason": "damaged"},
            grant=REFUNDS,
            ours=True,
            denied=frozenset({302, 404}),
        ),
        Case(
            "post",
            f"/orders/{o}/parcels/",
            {"tracking_number": "LP-{who}", "carrier": "Cainiao"},
            allowed=OWN,
            ours=True,
        ),
        Case(
            "post",
            f"/orders/{o}/flags/clear/",
            {"flag": "send_new_tracking"},
            allowed=OWN,
            ours=True,
        ),
        # --- orders: API --------------------------------------------------------------------
        Case("get", "/api/v1/orders", allowed=EVERYONE, **api),
        Case("get", "/api/v1/orders/settings", allowed=EVERYONE, **api),
        Case("patch", "/api/v1/orders/settings", {"stall_days": 9}, grant=MANAGE, **api),
        Case("get", "/api/v1/orders/risk", allowed=EVERYONE, **api),
        Case("get", f"/api/v1/orders/{o}", allowed=OWN, ours=True, **api),
        Case("get", f"/api/v1/orders/{other}", ours=True, **api),
        # "This is the conversation's order": the conversation's people, an order they see.
        Case(
            "post",
            f"/api/v1/orders/{o}/link",
            {"conversation_id": c},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("post", f"/api/v1/orders/{other}/link", {"conversation_id": c}, ours=True, **api),
        Case(
            "post",
            f"/api/v1/orders/{o}/refunds",
            {"amount": "5", "reason": "damaged"},
            grant=REFUNDS,
            ours=True,
            **api,
        ),
        Case(
            "post",
            f"/api/v1/orders/{o}/parcels",
            {"tracking_number": "API-{who}", "carrier": "Cainiao"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case(
            "post",
            "/api/v1/orders/incidents",
            {"title": "Delay", "text": "Your parcel is safe.", "carrier": "Cainiao"},
            grant=CAMPAIGNS,
            **api,
        ),
        # --- outreach: the "create campaigns" right -----------------------------------------
        Case("get", "/outreach/", grant=CAMPAIGNS),
        Case("get", "/outreach/?preview=1&statuses=paid", grant=CAMPAIGNS),
        Case(
            "post", "/outreach/segments", {"name": "S-{who}", "statuses": "paid"}, grant=CAMPAIGNS
        ),
        Case(
            "post",
            "/outreach/campaigns",
            {
                "name": "C-{who}",
                "segment": w.campaign.segment_id,
                "text_en": "Hello {name}",
                "starts_at": "2030-11-10T08:00",
            },
            grant=CAMPAIGNS,
            ours=True,
        ),
        Case(
            "post",
            f"/outreach/campaigns/{w.campaign.pk}/control",
            {"action": "pause"},
            grant=CAMPAIGNS,
            ours=True,
        ),
        Case(
            "post",
            "/api/v1/outreach/segments/preview",
            {"statuses": ["paid"]},
            grant=CAMPAIGNS,
            writes=False,
            **api,
        ),
        Case("get", "/api/v1/outreach/segments", grant=CAMPAIGNS, **api),
        Case(
            "post",
            "/api/v1/outreach/segments",
            {"name": "S-{who}", "filters": {"min_spend": "10"}},
            grant=CAMPAIGNS,
            **api,
        ),
        Case("get", "/api/v1/outreach/campaigns", grant=CAMPAIGNS, **api),
        Case(
            "post",
            "/api/v1/outreach/campaigns",
            {
                "name": "C-{who}",
                "segment_id": w.campaign.segment_id,
                "texts": {"en": "Hello {name}"},
                "starts_at": "2030-11-10T00:00:00Z",
            },
            grant=CAMPAIGNS,
            ours=True,
            **api,
        ),
        Case(
            "post",
            f"/api/v1/outreach/campaigns/{w.campaign.pk}/control",
            {"action": "pause"},
            grant=CAMPAIGNS,
            ours=True,
            **api,
        ),
        Case(
            "get",
            f"/api/v1/outreach/campaigns/{w.campaign.pk}/results",
            grant=CAMPAIGNS,
            ours=True,
            **api,
        ),
        # --- outreach: chat invitations (campaigns right), quiet minutes (settings right) ---
        Case("get", "/outreach/invitations/", grant=CAMPAIGNS),
        Case(
            "post",
            "/outreach/invitations/new",
            {"name": "I-{who}", "text_en": "Questions? Ask us!", "delay_seconds": "10"},
            grant=CAMPAIGNS,
        ),
        Case(
            "post",
            f"/outreach/invitations/{w.invitation.pk}/switch",
            {"active": "0"},
            grant=CAMPAIGNS,
            ours=True,
        ),
        Case("post", "/outreach/idle", {"idle_minutes": "7"}, grant=MANAGE),
        # Only the outreach group (and the main account) takes buyers from the idle queues;
        # this buyer is in none, so the main account is told so and nothing changes.
        Case("post", f"/outreach/queue/{w.buyer.pk}/take", ours=True, writes=False),
        Case("get", "/api/v1/outreach/invitations", grant=CAMPAIGNS, **api),
        Case(
            "post",
            "/api/v1/outreach/invitations",
            {"name": "I-{who}", "texts": {"en": "Questions? Ask us!"}},
            grant=CAMPAIGNS,
            **api,
        ),
        Case(
            "put",
            f"/api/v1/outreach/invitations/{w.invitation.pk}",
            {"name": "I-{who}", "texts": {"ru": "Есть вопросы?"}, "active": False},
            grant=CAMPAIGNS,
            ours=True,
            **api,
        ),
        Case("get", "/api/v1/outreach/idle", grant=MANAGE, **api),
        Case("put", "/api/v1/outreach/idle", {"idle_minutes": 7}, grant=MANAGE, **api),
        # The marketplace's caps: the main account only, even with the campaigns right.
        Case("post", "/outreach/caps", {"platform": "aliexpress", "cap_per_minute": "9"}),
        Case("get", "/api/v1/outreach/caps", grant=CAMPAIGNS, **api),
        Case("post", "/api/v1/outreach/caps", {"platform": "aliexpress", "per_minute": 9}, **api),
        # --- automation: pages --------------------------------------------------------------
        Case("get", "/automation/", grant=MANAGE),
        Case("get", "/automation/auto-replies/", allowed=EVERYONE),
        Case("post", "/automation/auto-replies/", AUTO_REPLY_FORM, grant=MANAGE),
        Case("get", "/automation/keywords/", grant=MANAGE),
        Case("post", "/automation/keywords/", _keyword_form(), grant=MANAGE),
        Case("post", "/automation/keywords/preview", _keyword_form(), grant=MANAGE, writes=False),
        Case("get", f"/automation/keyword-images/{img}", allowed=EVERYONE, ours=True),
        Case("get", "/automation/scripts/", allowed=EVERYONE),
        Case("get", "/automation/scripts/new", grant=MANAGE),
        Case("post", "/automation/scripts/new", SCRIPT_FORM, grant=MANAGE),
        Case("get", f"/automation/scripts/{s}/edit", grant=MANAGE, ours=True),
        Case("post", f"/automation/scripts/{s}/edit", SCRIPT_FORM, grant=MANAGE, ours=True),
        Case("post", f"/automation/scripts/{s}/active", {"active": "1"}, grant=MANAGE, ours=True),
        Case("get", "/automation/quick-replies/", allowed=EVERYONE),
        Case(
            "post",
            "/automation/quick-replies/",
            {"title": "mine {who}", "body": "Thank you!"},
            allowed=EVERYONE,
        ),
        # Quick replies are personal: not even the owner deletes Lily's.
        Case("post", "/automation/quick-replies/", {"delete": qr}, allowed=("agent",), ours=True),
        # --- automation: API ----------------------------------------------------------------
        Case("get", "/api/v1/automation/settings", allowed=EVERYONE, **api),
        Case("put", "/api/v1/automation/settings", AUTOMATION_SETTINGS, grant=MANAGE, **api),
        Case("get", "/api/v1/automation/business-hours", allowed=EVERYONE, **api),
        Case(
            "put",
            "/api/v1/automation/business-hours",
            {"intervals": [{"weekday": 1, "opens": "10:00", "closes": "19:00"}], "holidays": []},
            grant=MANAGE,
            **api,
        ),
        Case("get", "/api/v1/automation/keyword-rules", allowed=EVERYONE, **api),
        Case(
            "put",
            "/api/v1/automation/keyword-rules",
            {"rules": _rules("NEW-KW")},
            grant=MANAGE,
            **api,
        ),
        Case(
            "post",
            "/api/v1/automation/keyword-rules/preview",
            {"rules": _rules("NEW-KW"), "samples": ["refund please"]},
            grant=MANAGE,
            writes=False,
            **api,
        ),
        Case("get", "/api/v1/automation/scripts", allowed=EVERYONE, **api),
        Case("post", "/api/v1/automation/scripts", SCRIPT_JSON, grant=MANAGE, **api),
        Case("get", f"/api/v1/automation/scripts/{s}", allowed=EVERYONE, ours=True, **api),
        Case("put", f"/api/v1/automation/scripts/{s}", SCRIPT_JSON, grant=MANAGE, ours=True, **api),
        Case(
            "put",
            f"/api/v1/automation/scripts/{s}/active",
            {"active": True},
            grant=MANAGE,
            ours=True,
            **api,
        ),
        Case(
            "post",
            f"/api/v1/automation/scripts/{s}/render",
            {"language": "en"},
            allowed=EVERYONE,
            ours=True,
            writes=False,
            **api,
        ),
        # Filling a script from a conversation reads the conversation: its people only.
        Case(
            "post",
            f"/api/v1/automation/scripts/{s}/render",
            {"conversation_id": c, "language": "en"},
            allowed=OWN,
            ours=True,
            writes=False,
            **api,
        ),
        Case(
            "post",
            f"/api/v1/automation/scripts/{s}/uses",
            {"conversation_id": c, "language": "en"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case(
            "post",
            "/api/v1/automation/suggestions",
            {"text": "when will my refund arrive"},
            allowed=EVERYONE,
            writes=False,
            **api,
        ),
        Case(
            "post",
            "/api/v1/automation/suggestions",
            {"text": "when will my refund arrive", "conversation_id": c},
            allowed=OWN,
            ours=True,
            writes=False,
            **api,
        ),
        Case("get", "/api/v1/automation/quick-replies", allowed=EVERYONE, **api),
        Case(
            "post",
            "/api/v1/automation/quick-replies",
            {"title": "api {who}", "body": "Thank you!"},
            allowed=EVERYONE,
            **api,
        ),
        Case(
            "put",
            f"/api/v1/automation/quick-replies/{qr}",
            {"title": "edited {who}", "body": "Thanks a lot!"},
            allowed=("agent",),
            ours=True,
            **api,
        ),
        Case(
            "delete",
            f"/api/v1/automation/quick-replies/{qr}",
            allowed=("agent",),
            ours=True,
            **api,
        ),
        Case(
            "put",
            f"/api/v1/automation/buyers/{b}/language",
            {"language": "ru"},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case("get", "/api/v1/automation/report", grant=MANAGE, **api),
        # --- compliance ---------------------------------------------------------------------
        Case("get", "/compliance/findings/", allowed=EVERYONE),  # a sub-account: its own
        Case("get", "/compliance/rules/", allowed=EVERYONE),
        Case("get", "/compliance/shipping-policy/", grant=MANAGE),
        Case(
            "post",
            "/compliance/shipping-policy/",
            {"free_shipping": "on", "excluded_regions": "新疆\n西藏"},
            grant=MANAGE,
        ),
        Case(
            "post",
            "/api/v1/compliance/check",
            {"text": "We ship within two days."},
            allowed=EVERYONE,
            writes=False,
            **api,
        ),
        Case(
            "post",
            "/api/v1/compliance/check",
            {"text": "It's the courier's fault.", "record": True},
            allowed=EVERYONE,
            **api,
        ),
        Case("get", "/api/v1/compliance/findings", allowed=EVERYONE, **api),
        Case("get", "/api/v1/compliance/findings?agent=lily", allowed=OWN, **api),
        Case("get", "/api/v1/compliance/rules", allowed=EVERYONE, **api),
        Case("get", "/api/v1/compliance/shipping-policy", allowed=EVERYONE, **api),
        Case(
            "put",
            "/api/v1/compliance/shipping-policy",
            {"free_shipping": True, "excluded_regions": ["新疆"]},
            grant=MANAGE,
            **api,
        ),
        # --- metrics ------------------------------------------------------------------------
        Case("get", "/metrics/", allowed=EVERYONE),  # a sub-account: its own figures
        Case("post", "/metrics/settings/", {"slow_reply_minutes": "15"}),
        Case("get", "/metrics/inspection/"),
        Case("get", "/metrics/cases/", allowed=EVERYONE),  # a sub-account: its own cases
        Case("get", "/metrics/cases/new/", allowed=EVERYONE),
        Case("get", f"/metrics/cases/new/?conversation={c}", allowed=OWN, ours=True),
        Case(
            "post",
            "/metrics/cases/new/",
            {"conversation": c, "title": "Case {who}", "event": "Lamp arrived cracked"},
            allowed=OWN,
            ours=True,
        ),
        Case(
            "post",
            "/metrics/cases/new/",
            {"title": "Case {who}", "event": "Buyer asked for a discount"},
            allowed=EVERYONE,
        ),
        Case("get", "/api/v1/metrics", allowed=EVERYONE, **api),
        Case("post", "/api/v1/metrics/rebuild", {}, **api),
        Case("get", "/api/v1/metrics/settings", allowed=EVERYONE, **api),
        Case("put", "/api/v1/metrics/settings", {"slow_reply_minutes": 15}, **api),
        Case("get", "/api/v1/metrics/inspection", **api),
        Case("get", "/api/v1/metrics/cases", allowed=EVERYONE, **api),
        Case(
            "post",
            "/api/v1/metrics/cases",
            {"title": "API case {who}", "event": "Lamp arrived cracked", "conversation_id": c},
            allowed=OWN,
            ours=True,
            **api,
        ),
        Case(
            "post",
            "/api/v1/metrics/cases",
            {"title": "API case {who}", "event": "Buyer asked for a discount"},
            allowed=EVERYONE,
            **api,
        ),
    ]


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    shop: Shop
    users: dict[str, User]
    conv: Any
    buyer: Buyer
    order: Order
    other_order: Order
    run: ImportRun
    image_rule: KeywordRule
    script: Any
    quick_reply: Any
    hidden_conv: Any
    product: Any
    given_order: Order
    care: dict[str, int]
    campaign: Any
    invitation: Any
    # Text only some roles may see, and who: every response is searched for the others.
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)


@pytest.fixture
def world(shop, owner, pre_agent, after_agent, product, rival, monkeypatch) -> World:
    now = timezone.now()
    # Both shops' marketplaces answer the test ping (a mock: no socket leaves the test).
    Shop.objects.filter(pk__in=[shop.pk, rival.shop_id]).update(
        callback_url="https://seller.example/kefu"
    )
    monkeypatch.setattr(
        CallbackAdapter, "transport", httpx.MockTransport(lambda r: httpx.Response(200))
    )
    online(pre_agent)
    asked = now - dt.timedelta(minutes=10)
    conv = buyer_says(shop, product=product.external_id, sent_at=asked).conversation  # Ivan asks
    assert conv.assignee == pre_agent
    Message.objects.create(
        shop=shop,
        conversation=conv,
        buyer=conv.buyer,
        direction=Direction.AGENT,
        text="It is in stock.",
        author=pre_agent,
        sent_at=asked + dt.timedelta(minutes=2),  # Lily answers: her row of the metrics
    )

    def order(external_id: str, with_lily_product: bool) -> Order:
        placed = now - dt.timedelta(hours=2)
        made = Order.objects.create(
            shop=shop,
            external_id=external_id,
            buyer=conv.buyer,
            status=OrderStatus.PAID,
            currency="USD",
            total_amount=Decimal("50.00"),
            paid_amount=Decimal("50.00"),
            placed_at=placed,
            paid_at=placed,
            ship_by=now + dt.timedelta(hours=3),  # on the risk board
            shipping_method="Cainiao",
            flags=["send_new_tracking"],
            source=OrderSource.MANUAL,
        )
        OrderItem.objects.create(
            shop=shop,
            order=made,
            product=product if with_lily_product else None,
            product_external_id=product.external_id if with_lily_product else "",
            key=external_id,
            title="Desk lamp" if with_lily_product else "Gift card",
            unit_price=Decimal("50.00"),
        )
        return made

    lamp_order = order("ORD-AURORA-LAMP", with_lily_product=True)
    other_order = order("ORD-AURORA-OTHER", with_lily_product=False)
    hidden_conv = buyer_says(
        shop,
        "Where is the gift card?",
        buyer=conv.buyer.external_id,
        entry_point="order_detail",
        order="ORD-AURORA-OTHER",
        sent_at=asked,
    ).conversation
    assert hidden_conv.assignee is None and hidden_conv.pk != conv.pk
    # A finished import: while one is queued or running, the shop's next upload waits (409).
    run = ImportRun.objects.create(
        shop=shop, filename="aurora-export.csv", created_by=owner, status=ImportStatus.DONE
    )

    # The rival's shop has an affected order of its own: a broadcast that reaches no order is
    # refused, and the rival's own broadcast must succeed.
    Order.objects.create(
        shop=rival.shop,
        external_id="ORD-RIVAL",
        buyer=Buyer.objects.create(shop=rival.shop, external_id="rival-buyer", first_seen_at=now),
        status=OrderStatus.PAID,
        currency="CNY",
        total_amount=Decimal("10.00"),
        paid_amount=Decimal("10.00"),
        placed_at=now - dt.timedelta(hours=1),
        paid_at=now - dt.timedelta(hours=1),
        shipping_method="Cainiao",
        source=OrderSource.MANUAL,
    )

    # Settings rows exist, as in a shop in use: reading them creates nothing.
    for each in (shop, rival.shop):
        default_order_settings(shop=each).save()
        MetricsSettings.objects.create(shop=each, reporting_currency=each.currency)
    update_automation_settings(
        actor=owner,
        welcome_enabled=False,
        welcome_text="",
        out_of_hours_enabled=False,
        out_of_hours_text="",
        agent_quiet_minutes=10,
        keyword_replies_enabled=True,
    )
    save_keyword_rules(actor=owner, rules=[KeywordRuleInput(**r) for r in _rules()])
    image_rule = KeywordRule(shop=shop, version=0, position=0, keyword="photo", reply_type="image")
    image_rule.image.save("aurora-lamp.png", ContentFile(PNG), save=False)
    image_rule.save()
    script = create_script(
        actor=owner,
        data=ScriptInput(
            stage="after_sale",
            topic="Refunds",
            title="AURORA-SCRIPT refund timing",
            examples="when will my refund arrive",
            variants={"en": "Hi {buyer_name}, refunds take 3-20 days."},
        ),
    )
    quick_reply = create_quick_reply(
        actor=pre_agent, title="LILY-QUICK-REPLY thanks", body="Thank you!"
    )
    ComplianceFinding.objects.create(
        shop=shop,
        actor=pre_agent,
        source="reply",
        conversation_id=conv.pk,
        code="blame_courier",
        severity="warn",
        requirement="R-31",
        excerpt="LILY-FINDING courier",
        pack_version="test",
    )
    save_case(
        actor=owner,
        conversation=conv,
        data=CaseInput(title="LILY-CASE cracked lamp", event="Lamp arrived cracked"),
    )
    care = _care_world(shop, owner, pre_agent, conv, other_order, lamp_order)
    care |= _revisit_world(shop, owner, pre_agent)
    given_order = _delivered_order(shop, conv.buyer.external_id, product.external_id)
    care |= _review_world(shop, product)
    care["return"] = open_return(
        actor=owner,
        order=given_order,
        conversation=conv,
        kind="return",
        reason="LILY-RETURN shade too dim",
    ).pk
    rebuild_shop(shop=shop)
    segment = save_segment(
        actor=owner, name="AURORA-SEGMENT", filters=SegmentFilters.from_json({"statuses": "paid"})
    )
    campaign = create_campaign(
        actor=owner,
        name="AURORA-CAMPAIGN",
        segment=segment,
        texts={"en": "Hi {name}, Double 11 is here."},
        language_order=["en"],
        starts_at=now + dt.timedelta(days=1),
    )
    invitation = save_invitation(
        actor=owner,
        data=InvitationInput(name="AURORA-INVITATION", texts={"en": "Questions? Ask us!"}),
    )

    return World(
        shop=shop,
        users={"owner": owner, "agent": pre_agent, "peer": after_agent},
        conv=conv,
        buyer=conv.buyer,
        order=lamp_order,
        other_order=other_order,
        run=run,
        image_rule=image_rule,
        script=script,
        quick_reply=quick_reply,
        hidden_conv=hidden_conv,
        product=product,
        given_order=given_order,
        care=care,
        campaign=campaign,
        invitation=invitation,
        secrets={
            "LILY-COMPLAINT": OWN,
            "OTHER-COMPLAINT": OWNER,
            "LILY-PROMISE": OWN,
            "LILY-RETURN": OWN,
            "LILY-REVIEW": OWN,
            "OTHER-REVIEW": OWNER,
            "Aurora Lights": EVERYONE,
            "AURORA-SCRIPT": EVERYONE,
            "AURORA-KW": EVERYONE,
            "aurora-export.csv": OWNER,
            "ORD-AURORA-LAMP": OWN,
            "ORD-AURORA-OTHER": OWNER,
            "Ivan": OWN,
            "LILY-FINDING": OWN,
            "LILY-CASE": OWN,
            "AURORA-CAMPAIGN": OWNER,
            "AURORA-INVITATION": OWNER,
            f'data-row="{pre_agent.pk}"': OWN,  # Lily's row of the metrics dashboard
            "LILY-QUICK-REPLY": ("agent",),
        },
    )


def _care_world(
    shop: Shop, owner: User, lily: User, conv: Any, other: Order, lamp: Order
) -> dict[str, int]:
    """A complaint on Lily's chat, one on the order without her product, her promise due in
    5 h (its alert is hers) and the surge the two complaints make with a minimum of 1."""
    save_care_settings(
        actor=owner,
        data=CareSettingsInput(
            dispute_hours={},
            remind_hours_before=12,
            surge_factor=Decimal("3"),
            surge_min_count=1,
            promise_due_soon_hours=24,
        ),
    )
    mine = open_complaint(
        actor=lily,
        conversation=conv,
        data=ComplaintInput(cause="quality", summary="LILY-COMPLAINT cracked shade"),
    )
    theirs = open_complaint(
        actor=owner,
        order=other,
        data=ComplaintInput(cause="price", summary="OTHER-COMPLAINT gift card"),
    )
    promise = record_promise(
        actor=lily,
        conversation=conv,
        data=PromiseInput(
            what="LILY-PROMISE invoice", due_at=timezone.now() + dt.timedelta(hours=5)
        ),
    )
    watch_shop(shop=shop)
    return {
        "complaint": mine.pk,
        "other_complaint": theirs.pk,
        "promise": promise.pk,
        "surge": CareAlert.objects.get(shop=shop, kind="surge", scope="shop").pk,
        "promise_alert": CareAlert.objects.get(shop=shop, promise=promise).pk,
        # The lamp order is on the risk board: a call to ask the buyer to accept a delay.
        "call": CallTask.objects.get(shop=shop, key=f"late_shipment:order:{lamp.pk}").pk,
    }


def _review_world(shop: Shop, product: Any) -> dict[str, int]:
    """A negative review of Lily's lamp order (her task) and one of no order (the owner's);
    a delivered order of her lamp for a buyer without complaints (to invite); the lamp runs
    out three days after delivery, so that buyer is due a revisit too."""
    Product.objects.filter(pk=product.pk).update(usage_cycle_days=3)
    invite = _delivered_order(shop, "nina-buyer", product.external_id, "ORD-AURORA-INVITE")
    now = timezone.now()
    mine = store_review(
        shop=shop,
        data=ReviewInput(
            external_id="REV-LILY",
            posted_at=now,
            rating=1,
            text="LILY-REVIEW too dim",
            order_external_id="ORD-AURORA-LAMP",
        ),
        source="webhook",
    ).review
    theirs = store_review(
        shop=shop,
        data=ReviewInput(external_id="REV-OTHER", posted_at=now, rating=3, text="OTHER-REVIEW"),
        source="webhook",
    ).review
    return {
        "review_task": ReviewTask.objects.get(review=mine).pk,
        "other_review_task": ReviewTask.objects.get(review=theirs).pk,
        "invite_order": invite.pk,
    }


def followup_cases(w: World) -> list[Case]:
    """Follow-ups and revisits (issue 16 §6-7): the rules are a shop setting; a revisit row
    is acted on by those who see its order (Lily's tea)."""
    tea, tea_order, done = w.care["tea"], w.care["tea_order"], w.care["revisit"]
    row = {"order": tea_order, "product": tea}
    row_json = {"order_id": tea_order, "product_id": tea}
    api = {"api": True}
    rule_form = {"kind": "at_delivery", "active": "on", "fallback_language": "en"}
    rule_form["text_en"] = "Arrived, {who}?"
    return [
        Case("get", "/care/follow-ups/", allowed=EVERYONE),
        Case("post", "/care/follow-ups/", rule_form, grant=MANAGE),
        Case(
            "post",
            "/care/follow-ups/",
            {"form": "quiet", "business_hours_only": "on"},
            grant=MANAGE,
        ),
        Case("post", "/care/revisits/act/", row | {"way": "call"}, allowed=OWN, ours=True),
        Case("post", "/care/revisits/act/", row | {"way": "message"}, allowed=OWN, ours=True),
        Case("post", f"/care/revisits/{done}/case/", {}, allowed=OWN, ours=True),
        Case("get", "/api/v1/care/follow-ups", allowed=EVERYONE, **api),
        Case("get", "/api/v1/care/follow-ups/rules", allowed=EVERYONE, **api),
        Case(
            "put",
            "/api/v1/care/follow-ups/rules",
            {"kind": "after_days", "texts": {"en": "A review, {who}?"}, "days": 9},
            grant=MANAGE,
            **api,
        ),
        Case("get", "/api/v1/care/follow-ups/quiet-hours", allowed=EVERYONE, **api),
        Case(
            "put",
            "/api/v1/care/follow-ups/quiet-hours",
            {"business_hours_only": True},
            grant=MANAGE,
            **api,
        ),
        Case("post", "/api/v1/care/revisits/send", row_json, allowed=OWN, ours=True, **api),
        Case("post", "/api/v1/care/revisits/call", row_json, allowed=OWN, ours=True, **api),
        Case("get", "/api/v1/care/revisits/results", allowed=EVERYONE, **api),
        Case("post", f"/api/v1/care/revisits/{done}/case", {}, allowed=OWN, ours=True, **api),
    ]


def _revisit_world(shop: Shop, owner: User, lily: User) -> dict[str, int]:
    """Lily's 30-day tea: one buyer due a revisit now, another revisited by phone yesterday
    who ordered again since (a second sale to save as a case); a revisit script, no quiet
    hours (the cases run at any hour)."""
    tea = create_product(
        actor=owner,
        data=ProductData(
            external_id="TEA-30", title="Tea 30 days", owner=lily, usage_cycle_days=30
        ),
    )
    now = timezone.now()

    def tea_order(external_id: str, buyer: str, placed: dt.datetime, delivered: bool) -> Order:
        upsert_orders(
            shop=shop,
            inputs=[
                OrderInput(
                    external_id=external_id,
                    buyer_external_id=buyer,
                    buyer_name="Tea buyer",
                    status="TRADE_FINISHED" if delivered else "WAIT_SELLER_SEND_GOODS",
                    currency="USD",
                    total_amount=Decimal("9"),
                    paid_amount=Decimal("9"),
                    placed_at=placed,
                    paid_at=placed,
                    delivered_at=placed + dt.timedelta(days=5) if delivered else None,
                    items=(
                        ItemInput(
                            title="Tea",
                            quantity=1,
                            unit_price=Decimal("9"),
                            product_external_id="TEA-30",
                        ),
                    ),
                )
            ],
        )
        return Order.objects.get(shop=shop, external_id=external_id)

    due = tea_order("TEA-1", "tea-1", now - dt.timedelta(days=33), delivered=True)
    called = tea_order("TEA-2", "tea-2", now - dt.timedelta(days=34), delivered=True)
    save_rule(actor=owner, data=FollowUpRuleInput(kind="revisit", texts={"en": "More tea?"}))
    set_quiet_hours(owner, "00:00", "00:00")
    revisit = call_for_revisit(
        actor=owner, order=called, product=tea, now=now - dt.timedelta(days=1)
    )
    tea_order("TEA-3", "tea-2", now - dt.timedelta(hours=12), delivered=False)
    return {"tea": tea.pk, "tea_order": due.pk, "revisit": revisit.pk}


def _delivered_order(
    shop: Shop, buyer: str, product: str, external_id: str = "ORD-AURORA-GIVEN"
) -> Order:
    """An order of Lily's product the marketplace reports delivered: its commitments count."""
    now = timezone.now()
    upsert_orders(
        shop=shop,
        inputs=[
            OrderInput(
                external_id=external_id,
                buyer_external_id=buyer,
                status="TRADE_FINISHED",
                total_amount=Decimal("20.00"),
                placed_at=now - dt.timedelta(days=6),
                paid_at=now - dt.timedelta(days=6),
                delivered_at=now - dt.timedelta(days=1),
                items=(
                    ItemInput(
                        title="Desk lamp",
                        quantity=1,
                        unit_price=Decimal("20.00"),
                        product_external_id=product,
                    ),
                ),
            )
        ],
    )
    return Order.objects.get(shop=shop, external_id=external_id)


# --- running a case -------------------------------------------------------------------------


# Tables of these apps that hold no shop's data, each with why.
SHOPLESS = {"conversations.IntakeLane": "the intake worker's lane locks: lane numbers only"}


def snapshot(shop: Shop | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the shop-owned tables (of `shop` only, when given)."""
    state = {}
    for app_label in SHOP_APPS:
        for model in apps.get_app_config(app_label).get_models():
            rows = model._base_manager.all()
            if shop is not None and model._meta.label in SHOPLESS:
                continue
            if shop is not None:
                rows = rows.filter(pk=shop.pk) if model is Shop else rows.filter(shop=shop)
            # Signing in stamps last_login; the clients sign in before any snapshot anyway.
            names = [f.attname for f in model._meta.concrete_fields if f.attname != "last_login"]
            state[model._meta.label] = list(rows.order_by("pk").values_list(*names))
    return state


def _fill(value: Any, who: str) -> Any:
    if callable(value):
        return value()
    if isinstance(value, str):
        return value.replace("{who}", who)
    if isinstance(value, dict):
        return {k: _fill(v, who) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, who) for v in value]
    return value


def call(client: Client, case: Case, who: str = "x") -> HttpResponseBase:
    data = _fill(case.data or {}, who)
    send = getattr(client, case.method)
    if case.method == "get":
        return send(case.path)
    if case.api:
        return send(case.path, data=json.dumps(data), content_type="application/json")
    return send(case.path, data=data)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    changed: bool
    before: dict[str, Any]
    after: dict[str, Any]

    def diff(self) -> list[str]:
        return [k for k in self.before if self.before[k] != self.after[k]]


def rows_written() -> int:
    """Rows this connection has inserted, updated or deleted so far: the database's own
    counter (SQLite's total changes; PostgreSQL's per-transaction table statistics)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return int(connection.connection.total_changes)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
            " FROM pg_stat_xact_all_tables"
        )
        return int(cursor.fetchone()[0])


# Snapshots of the world as each case finds it, by shop and by the write counter when taken.
# Every case is rolled back, so the next one finds the same rows; a write in between (a grant)
# moves the counter and so takes a new snapshot. Reading all 75 tables
# twice per case was most of this file's time (~90 ms a case).
_baselines: dict[tuple[int | None, int], dict[str, list[tuple[Any, ...]]]] = {}


@pytest.fixture(autouse=True)
def _fresh_baselines():
    _baselines.clear()
    yield
    _baselines.clear()


def baseline(shop: Shop | None, written: int) -> dict[str, list[tuple[Any, ...]]]:
    """The rows as a case finds them, `written` being the counter now."""
    key = (shop.pk if shop else None, written)
    if key not in _baselines:
        _baselines[key] = snapshot(shop)
    return _baselines[key]


def attempt(client: Client, case: Case, who: str = "x", *, shop: Shop | None = None) -> Outcome:
    """Run the case in a savepoint that is rolled back; compare the rows around it.

    A request that wrote no row through the test's connection (the requests run in this
    thread, on this connection) cannot have changed one, so the rows are read again only
    when the counter moved; then they are compared in full, as a write may be harmless (a
    session) or undone by the request itself."""
    with transaction.atomic():
        written = rows_written()
        before = baseline(shop, written)
        response = call(client, case, who)
        after = before if rows_written() == written else snapshot(shop)
        transaction.set_rollback(True)
    # Rolled back: the rows are `before` again, whatever the counter says now.
    _baselines[(shop.pk if shop else None, rows_written())] = before
    body = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        if response.streaming
        else response.content  # type: ignore[attr-defined]
    )
    return Outcome(response.status_code, body, before != after, before, after)


def label(case: Case, who: str, outcome: Outcome) -> str:
    return f"{who}: {case.method.upper()} {case.path} -> {outcome.status} {outcome.body[:200]!r}"


def assert_no_secrets(w: World, case: Case, who: str, outcome: Outcome) -> None:
    for secret, seers in w.secrets.items():
        assert who in seers or secret.encode() not in outcome.body, (
            f"{who} was shown {secret!r}: {label(case, who, outcome)}"
        )


def assert_denied(w: World, client: Client, case: Case, who: str, expected: set[int]) -> None:
    outcome = attempt(client, case, who)
    assert outcome.status in expected, label(case, who, outcome)
    assert not outcome.changed, f"denied, yet changed {outcome.diff()}: {label(case, who, outcome)}"
    assert_no_secrets(w, case, who, outcome)


# --- the four kinds of client ---------------------------------------------------------------


def test_anonymous_is_sent_to_login_or_gets_401(world):
    client = Client()
    for case in cases(world):
        outcome = attempt(client, case, "anonymous")
        if case.api:
            assert outcome.status == 401, label(case, "anonymous", outcome)
        else:
            assert outcome.status == 302, label(case, "anonymous", outcome)
        assert not outcome.changed, label(case, "anonymous", outcome)
        assert_no_secrets(world, case, "anonymous", outcome)


def test_another_shop_sees_and_changes_nothing_of_ours(world, rival):
    client = login_client(rival)
    for case in cases(world):
        if case.ours:
            assert_denied(world, client, case, "rival", {403, 404})
            continue
        # Shop-level routes act on the rival's own shop, where it is the owner.
        outcome = attempt(client, case, "rival", shop=world.shop)
        assert outcome.status < 400, label(case, "rival", outcome)
        assert not outcome.changed, f"rival changed our {outcome.diff()}: {case.path}"
        assert_no_secrets(world, case, "rival", outcome)


@pytest.mark.parametrize("who", ["peer", "agent", "owner"])
def test_shop_members_without_the_right_are_refused(world, who):
    client = login_client(world.users[who])
    refused = [case for case in cases(world) if who not in case.allowed]
    assert refused or who == "owner"
    for case in refused:
        assert_denied(world, client, case, who, set(case.denied))


@pytest.mark.parametrize("who", ["owner", "agent", "peer"])
def test_the_right_users_succeed_and_see_only_theirs(world, who):
    client = login_client(world.users[who])
    shown: set[str] = set()
    for case in cases(world):
        if who not in case.allowed:
            continue
        outcome = attempt(client, case, who)
        assert outcome.status < 400, label(case, who, outcome)
        if case.changes_rows:
            assert outcome.changed, f"allowed write changed nothing: {label(case, who, outcome)}"
        else:
            assert not outcome.changed, f"a read changed {outcome.diff()}: {case.path}"
        assert_no_secrets(world, case, who, outcome)
        shown |= {secret for secret in world.secrets if secret.encode() in outcome.body}
    # Each secret this user may see turns up somewhere: the leak checks search for live text.
    expected = {s for s, seers in world.secrets.items() if who in seers}
    assert shown == expected, (sorted(expected - shown), sorted(shown - expected))


def test_a_granted_sub_account_may_do_what_the_grant_covers(world):
    lily = world.users["agent"]
    client = login_client(lily)
    for grant in (MANAGE, REFUNDS, CAMPAIGNS):
        User.objects.filter(pk=lily.pk).update(**{grant: True})
        for case in cases(world):
            if case.grant != grant:
                continue
            outcome = attempt(client, case, "agent")
            assert outcome.status < 400, (grant, label(case, "agent", outcome))
            assert outcome.changed == case.changes_rows, (grant, label(case, "agent", outcome))
        User.objects.filter(pk=lily.pk).update(**{grant: False})


def test_every_grant_together_still_leaves_owner_only_work_to_the_owner(world):
    lily = world.users["agent"]
    User.objects.filter(pk=lily.pk).update(
        **{MANAGE: True, REFUNDS: True, CAMPAIGNS: True}, refund_limit=None
    )
    client = login_client(lily)
    owner_only = [c for c in cases(world) if "agent" not in c.allowed and c.grant is None]
    # The order without Lily's product stays hidden (seeing all is no grant); the metrics
    # settings, the rebuild and the daily inspection are the main account's.
    other = world.other_order.pk
    assert {(c.method, c.path) for c in owner_only} == {
        ("get", f"/orders/{other}/"),
        ("get", f"/api/v1/orders/{other}"),
        ("post", f"/api/v1/orders/{other}/link"),
        ("post", "/metrics/settings/"),
        ("get", "/metrics/inspection/"),
        ("post", "/api/v1/metrics/rebuild"),
        ("put", "/api/v1/metrics/settings"),
        ("get", "/api/v1/metrics/inspection"),
        # The complaint about the order without Lily's product, and the owners' surge alert.
        ("get", f"/care/complaints/{world.care['other_complaint']}/"),
        ("get", f"/api/v1/care/complaints/{world.care['other_complaint']}"),
        ("get", f"/care/alerts/{world.care['surge']}/"),
        # The review of no order, no product and no buyer Lily serves.
        ("get", f"/care/reviews/tasks/{world.care['other_review_task']}/"),
        ("get", f"/api/v1/care/reviews/tasks/{world.care['other_review_task']}"),
        # The idle-time queues are the outreach group's (Lily is pre-sale), not a grant's.
        ("post", f"/outreach/queue/{world.buyer.pk}/take"),
        # The marketplace's caps: the main account answers for the marketplace account.
        ("post", "/outreach/caps"),
        ("post", "/api/v1/outreach/caps"),
    }
    for case in owner_only:
        assert_denied(world, client, case, "agent", set(case.denied))


# --- the signed webhooks --------------------------------------------------------------------

WEBHOOKS = (
    "/api/v1/inbound/messages",
    "/api/v1/inbound/messages/batch",
    "/api/v1/inbound/messages/status",
    "/api/v1/inbound/orders",
    "/api/v1/inbound/tracking",
    "/api/v1/orders/inbound",
    "/api/v1/orders/tracking/inbound",
    "/api/v1/catalog/inbound",
    "/api/v1/inbound/reviews",
)


def test_webhooks_refuse_a_missing_or_another_shops_signature(world, rival):
    body = json.dumps({"external_id": "X-1", "buyer": {"external_id": "b-9"}}).encode()
    unsigned: dict[str, str] = {"X-Kefu-Shop": "aurora"}
    forged = signed_headers(slug="aurora", secret=rival.shop.webhook_secret, body=body)
    for path in WEBHOOKS:
        for headers in (unsigned, forged):
            before = snapshot()
            response = Client().post(
                path, data=body, content_type="application/json", headers=headers
            )
            assert response.status_code == 401, (path, headers, response.content[:200])
            assert snapshot() == before, path


# --- coverage -------------------------------------------------------------------------------

# Routes outside both matrices, each with why it needs no signed-in shop user.
PUBLIC = {
    "": "redirects to the inbox, which asks for a login",
    "healthz": "health check for the load balancer; no shop data",
    "language/": "switches the interface language of the session (and of the user, if any)",
    "login/": "the login form",
    "logout/": "ends the session",
    "api/v1/": "the API root: 404, no content",
    "api/v1/openapi.json": "the public API schema; no shop data",
    "api/v1/docs": "the public API documentation page",
    "api/v1/inbound/messages": "marketplace webhook, signed with the shop's secret",
    "api/v1/inbound/messages/batch": "batch of marketplace messages, signed with the shop's secret",
    "api/v1/inbound/messages/status": "where the shop's queued messages are, signed with the "
    "shop's secret; answers only for the signing shop",
    "api/v1/inbound/orders": "alias of the order webhook, signed with the shop's secret",
    "api/v1/inbound/tracking": "alias of the tracking webhook, signed with the shop's secret",
    "api/v1/orders/inbound": "order webhook, signed with the shop's secret",
    "api/v1/orders/tracking/inbound": "carrier tracking webhook, signed with the shop's secret",
    "api/v1/catalog/inbound": "product webhook, signed with the shop's secret",
    "api/v1/inbound/reviews": "review webhook, signed with the shop's secret",
    "media/m/<str:token>.<str:extension>": "an image the shop sent buyers; the random token "
    "in the address is the key, as the marketplace fetches it without a login",
    "chat/<slug:slug>/": "the public chat widget buyers open on the shop's site",
    "chat/<slug:slug>/send/": "the public chat widget: a buyer sends a message",
    "chat/<slug:slug>/messages/": "the public chat widget: a buyer polls for replies",
    "chat/<slug:slug>/invitations/<int:invitation_id>/shown/": "the public chat widget: it "
    "shows the shop's chat invitation to the browser holding its signed cookie",
    "chat/<slug:slug>/invitations/<int:invitation_id>/accept/": "the public chat widget: that "
    "browser accepts the invitation shown to it, opening its own chat",
    "chat/<slug:slug>/opt-out/": "the public chat widget: the browser's buyer opts out of "
    "marketing messages",
}


def route_regex(route: str) -> re.Pattern[str]:
    """A route as a regex; ids are digits, so `orders/settings` never counts as `orders/<id>`."""
    parts = re.split(r"(<[^>]+>)", route)
    regex = "".join(
        ("[-a-zA-Z0-9_]+" if p.startswith("<slug:") else "[0-9]+")
        if p.startswith("<")
        else re.escape(p)
        for p in parts
    )
    return re.compile(regex)


def routes_of(paths: list[str], routes: list[str]) -> dict[str, set[str]]:
    matchers = {route: route_regex(route) for route in routes}
    found: dict[str, set[str]] = {}
    for path in paths:
        bare = path.split("?")[0].lstrip("/")
        found[path] = {r for r, rx in matchers.items() if rx.fullmatch(bare)}
    return found


def test_every_route_is_in_a_matrix_or_public(request, world):
    routes = all_routes()
    inbox_objects = request.getfixturevalue("inbox_world")  # tests/test_permission_matrix.py's
    inbox = [c.path for c in inbox_cases(inbox_objects["conv"], world.users["agent"])]
    matched = routes_of(inbox + [c.path for c in cases(world)], routes)
    unclear = {path: found for path, found in matched.items() if len(found) != 1}
    assert not unclear, f"matrix paths matching no route, or several: {unclear}"
    covered = set().union(*matched.values())
    missing = [r for r in routes if r not in covered and r not in PUBLIC]
    assert not missing, f"routes in no permission matrix and not public: {missing}"
    stale = [r for r in PUBLIC if r not in routes]
    assert not stale, f"the public allow-list names routes that no longer exist: {stale}"
    both = [r for r in PUBLIC if r in covered]
    assert not both, f"public routes also in a matrix: {both}"


def test_every_case_reaches_the_route_it_names(world):
    # Django takes the first matching pattern: a route shadowed by an earlier one would be
    # tested as that one.
    live_cases = cases(world)
    matched = routes_of([c.path for c in live_cases], all_routes())
    for case in live_cases:
        (route,) = matched[case.path]
        assert resolve(case.path.split("?")[0]).route == route, case.path
