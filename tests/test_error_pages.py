"""A refused or missing page says why, inside the workbench, in the user's language."""

from __future__ import annotations

from django.test import Client

from tests.conftest import login_client


def test_forbidden_page_keeps_the_workbench_and_says_why(shop, pre_agent):
    client = login_client(pre_agent)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"

    page = client.get("/orders/import/")
    fragment = client.get("/orders/import/", headers={"HX-Request": "true"})

    assert page.status_code == 403
    html = page.content.decode()
    assert "Not for this account" in html
    assert 'class="topbar"' in html  # still inside the workbench, with its navigation
    assert fragment.status_code == 403
    assert fragment.content.decode().startswith('<p class="errorlist">')


def test_not_found_page_in_chinese(shop, owner):
    response = login_client(owner).get("/orders/999999/")

    assert response.status_code == 404
    assert "找不到" in response.content.decode()
    assert Client().get("/no-such-page/").status_code == 404
