"""The Content-Security-Policy and the HTTPS settings: pages carry no inline script, so the
policy forbids it; a framed widget keeps working on the seller's site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import login_client

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "kefu"
INLINE = [
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "an inline style attribute"),
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline script"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_holds_what_the_policy_would_refuse():
    found = [
        f"{path.relative_to(TEMPLATES)}: {what}"
        for path in TEMPLATES.rglob("templates/**/*.html")
        for pattern, what in INLINE
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_workbench_pages_forbid_inline_script_and_framing(owner):
    response = login_client(owner).get("/inbox/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_chat_widget_may_be_framed_by_the_sellers_site(shop):
    response = Client().get(f"/chat/{shop.slug}/")

    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors" not in policy and "script-src 'self'" in policy
    assert "X-Frame-Options" not in response.headers


def test_the_api_docs_are_served_locally_under_the_policy(db):
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"cdn.jsdelivr.net" not in response.content
    assert b"/static/ninja/swagger-ui-bundle.js" in response.content


def test_plain_http_by_default_so_make_serve_works_on_127_0_0_1(settings, shop):
    assert not settings.SESSION_COOKIE_SECURE and settings.SECURE_HSTS_SECONDS == 0
    cookie = Client().get(f"/chat/{shop.slug}/").cookies[f"kefu_chat_{shop.slug}"]
    assert (cookie["secure"], cookie["samesite"]) == ("", "Lax")


def test_behind_https_cookies_are_secure_and_the_widget_cookie_crosses_sites(settings, shop):
    settings.SESSION_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(headers={"X-Forwarded-Proto": "https"})

    response = client.get(f"/chat/{shop.slug}/")

    cookie = response.cookies[f"kefu_chat_{shop.slug}"]
    assert (cookie["secure"], cookie["samesite"]) == (True, "None")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
