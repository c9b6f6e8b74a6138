"""Invitations and the quiet minutes over the API and the page: refusals are 400 with the
reason and nothing stored; the figures come back with the list."""

from __future__ import annotations

import json

from django.utils import translation

from kefu.outreach.models import Invitation, OutreachSettings
from tests.conftest import login_client


def send(client, method, path, body):
    return getattr(client, method)(
        f"/api/v1/outreach{path}", data=json.dumps(body), content_type="application/json"
    )


def test_create_change_and_list_invitations(shop, owner, pre_agent):
    client = login_client(owner)
    blocked = send(
        client,
        "post",
        "/invitations",
        {"name": "Bad", "texts": {"zh": "加我微信私下交易，给你好评返现"}},
    )
    assert blocked.status_code == 400 and blocked.json()["detail"]
    no_coupon_day = send(
        client,
        "post",
        "/invitations",
        {"name": "Coupon", "texts": {"en": "Ask us!"}, "coupon_code": "X", "coupon_value": "5",
         "coupon_currency": "USD"},
    )  # fmt: skip
    assert no_coupon_day.status_code == 400
    assert not Invitation.objects.exists()

    created = send(
        client,
        "post",
        "/invitations",
        {"name": "Lamps", "texts": {"en": "Ask us!", "es": "¡Pregúntenos!"}, "trigger": "exit",
         "placement": "products", "products": ["P-1", "P-2"], "cooling_off_hours": 12},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["shown"], body["accepted"], body["converted"]) == (0, 0, 0)
    assert body["products"] == ["P-1", "P-2"] and body["trigger"] == "exit"
    changed = send(
        client, "put", f"/invitations/{body['id']}", {"name": "Lamps", "texts": {"en": "Hi!"},
                                                      "active": False}
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["active"] is False
    listed = client.get("/api/v1/outreach/invitations").json()
    assert [(i["name"], i["texts"]) for i in listed] == [("Lamps", {"en": "Hi!"})]
    # A sub-account without the campaign right is refused; another shop's id is not found.
    assert login_client(pre_agent).get("/api/v1/outreach/invitations").status_code == 403


def test_quiet_minutes_need_the_settings_right(shop, owner, pre_agent):
    client = login_client(owner)
    assert client.get("/api/v1/outreach/idle").json() == {"idle_minutes": 10, "quiet": True}
    assert send(client, "put", "/idle", {"idle_minutes": 0}).status_code == 400
    assert send(client, "put", "/idle", {"idle_minutes": 15}).json()["idle_minutes"] == 15
    assert OutreachSettings.objects.get(shop=shop).idle_minutes == 15
    assert send(login_client(pre_agent), "put", "/idle", {"idle_minutes": 3}).status_code == 403
    assert OutreachSettings.objects.get(shop=shop).idle_minutes == 15


def test_the_page_refuses_a_blocked_text_with_the_reason(shop, owner):
    client = login_client(owner)
    with translation.override("en"):
        response = client.post(
            "/outreach/invitations/new",
            {"name": "Bad", "text_zh": "加我微信私下交易，给你好评返现", "delay_seconds": "10"},
        )
    assert response.status_code == 400
    assert not Invitation.objects.exists()
    response = client.post(
        "/outreach/invitations/new",
        {"name": "Good", "text_en": "Questions? Ask us!", "coupon_code": "HI5",
         "coupon_value": "5", "coupon_currency": "%", "coupon_valid_until": "2030-12-31"},
    )  # fmt: skip
    assert response.status_code == 302
    assert Invitation.objects.get().coupon["currency"] == "%"
    page = client.get("/outreach/invitations/").content.decode()
    assert "Good" in page and "HI5" in page


def test_an_ab_invitation_over_the_api(shop, owner):
    client = login_client(owner)
    refused = send(
        client,
        "post",
        "/invitations",
        {"name": "AB", "texts": {"en": "Ask us!", "ru": "Спросите нас!"},
         "texts_b": {"en": "Chat now!"}},
    )  # fmt: skip
    assert refused.status_code == 400 and refused.json()["detail"]
    assert not Invitation.objects.exists()
    created = send(
        client,
        "post",
        "/invitations",
        {"name": "AB", "texts": {"en": "Ask us!"}, "texts_b": {"en": "Chat now!"}},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["texts_b"] == {"en": "Chat now!"}
    assert [(v["variant"], v["shown"]) for v in body["variants"]] == [("A", 0), ("B", 0)]
    assert body["comparisons"] == []  # nothing shown yet: nothing to compare
