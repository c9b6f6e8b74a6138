"""Personal API tokens: made on the page, over the API or the command line; they expire, are
listed without their values and stop at once when revoked."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from kefu.accounts.models import ApiToken
from kefu.cli import main
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def make_on_the_page(client: Client, name: str = "ERP sync", days: str = "30") -> str:
    response = client.post("/settings/tokens/", {"name": name, "days": days})
    assert response.status_code == 200
    found = re.search(rb'<code class="secret">(kefu_[^<]+)</code>', response.content)
    assert found, "the new token is shown once"
    return found.group(1).decode()


def test_a_token_made_on_the_page_opens_the_api_until_revoked(pre_agent):
    page = login_client(pre_agent)
    raw = make_on_the_page(page)

    assert bearer(raw).get("/api/v1/shop").status_code == 200
    listing = page.get("/settings/tokens/").content.decode()
    assert "ERP sync" in listing and raw not in listing  # the value is never shown again
    token = ApiToken.objects.get(user=pre_agent)
    assert token.last_used_at is not None

    revoked = page.post(f"/settings/tokens/{token.pk}/revoke/")

    assert revoked.status_code == 302
    assert bearer(raw).get("/api/v1/shop").status_code == 401
    assert "已吊销" in page.get("/settings/tokens/").content.decode()


def test_a_token_stops_on_its_expiry_day(pre_agent):
    with time_machine.travel(dt.datetime(2026, 11, 1, tzinfo=dt.UTC), tick=False):
        raw = make_on_the_page(login_client(pre_agent), days="30")
        assert bearer(raw).get("/api/v1/shop").status_code == 200
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC), tick=False):
        assert bearer(raw).get("/api/v1/shop").status_code == 200
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 1, tzinfo=dt.UTC), tick=False):
        assert bearer(raw).get("/api/v1/shop").status_code == 401
        assert "已过期" in login_client(pre_agent).get("/settings/tokens/").content.decode()


@pytest.mark.parametrize("days", ["0", "366", "soon"])
def test_a_bad_lifetime_is_refused_and_makes_no_token(pre_agent, days):
    response = login_client(pre_agent).post("/settings/tokens/", {"name": "x", "days": days})

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_over_the_api_a_login_lists_and_revokes_only_its_own(owner, pre_agent, after_agent):
    lily = login_client(pre_agent)
    made = lily.post(
        "/api/v1/shop/tokens", data={"name": "sync", "days": 7}, content_type="application/json"
    )
    assert made.status_code == 201
    body = made.json()
    raw, token_id = body["token"], body["id"]
    assert body["live"] and body["login"] == "lily"
    assert "token" not in lily.get("/api/v1/shop/tokens").json()[0]

    colleague = login_client(after_agent)
    assert colleague.get("/api/v1/shop/tokens").json() == []
    assert colleague.post(f"/api/v1/shop/tokens/{token_id}/revoke").status_code == 404
    assert bearer(raw).get("/api/v1/shop").status_code == 200

    # The main account sees every login's tokens and may stop any of them.
    boss = login_client(owner)
    assert [t["login"] for t in boss.get("/api/v1/shop/tokens").json()] == ["lily"]
    stopped = boss.post(f"/api/v1/shop/tokens/{token_id}/revoke")
    assert (stopped.status_code, stopped.json()["live"]) == (200, False)
    assert bearer(raw).get("/api/v1/shop").status_code == 401


def test_the_command_line_makes_lists_and_revokes(shop, pre_agent, capsys):
    assert main(["token", "create", "--login", "lily", "--name", "ci", "--days", "10"]) == 0
    raw = capsys.readouterr().out.strip()
    assert bearer(raw).get("/api/v1/shop").status_code == 200

    assert main(["token", "list", "--shop", "aurora"]) == 0
    listing = capsys.readouterr().out
    assert "lily\tci\tlive" in listing and raw not in listing

    token = ApiToken.objects.get()
    assert main(["token", "revoke", "--shop", "aurora", str(token.pk)]) == 0
    assert bearer(raw).get("/api/v1/shop").status_code == 401
    assert main(["token", "revoke", "--shop", "aurora", "999999"]) != 0
    assert main(["token", "create", "--login", "lily", "--days", "0"]) != 0
