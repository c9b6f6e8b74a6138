"""First-run setup (issue 12 §2): `kefu shop create` installs the starter set, and the owner's
home shows what is done and what is next as the seller does it."""

from __future__ import annotations

import json

import httpx
import pytest

from kefu.accounts.models import Shop, User
from kefu.automation.data.default_library import SCRIPTS
from kefu.automation.data.starter import KEYWORDS, OUT_OF_HOURS, WELCOME
from kefu.automation.models import AutomationSettings, KeywordRule, Script, ScriptVariant
from kefu.cli import main
from kefu.integrations.adapters import CallbackAdapter
from kefu.integrations.signing import sign
from tests.conftest import PASSWORD, login_client
from tests.helpers import add_product, buyer_says

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_seller(settings):
    # The refusals asserted here are read in English (the interface's other language).
    settings.LANGUAGE_CODE = "en"


ORDERS_EXPORT = "tests/orders/fixtures/taobao_orders_gbk.csv"


def _create(capsys, *extra: str) -> dict[str, object]:
    code = main(
        [
            "shop",
            "create",
            "--name",
            "Lumen Store",
            "--platform",
            "aliexpress",
            "--owner-login",
            "lumen",
            "--owner-password",
            PASSWORD,
            "--json",
            *extra,
        ]
    )
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _rows(shop: Shop) -> tuple[int, ...]:
    conf = AutomationSettings.objects.get(shop=shop)
    return (
        Script.objects.filter(shop=shop).count(),
        ScriptVariant.objects.filter(shop=shop).count(),
        KeywordRule.objects.filter(shop=shop).count(),
        conf.scripts_version,
        len(conf.welcome_translations),
    )


def test_shop_create_installs_library_inactive_keywords_and_texts_once(capsys):
    info = _create(capsys)
    shop = Shop.objects.get(slug=info["slug"])

    assert info["starter"] == {
        "scripts": len(SCRIPTS),
        "keywords": len(KEYWORDS["en"]),
        "welcome": True,
        "out_of_hours": True,
    }
    assert Script.objects.filter(shop=shop).exclude(key="").count() == len(SCRIPTS)
    for script in Script.objects.filter(shop=shop):
        assert set(script.variants.values_list("language", flat=True)) == {
            "en",
            "ru",
            "es",
            "zh-hans",
        }
    rules = list(KeywordRule.objects.filter(shop=shop).order_by("position"))
    assert [r.keyword for r in rules] == [k["keyword"] for k in KEYWORDS["en"]]
    conf = AutomationSettings.objects.get(shop=shop)
    assert conf.keyword_replies_enabled is False  # until the owner turns them on
    assert conf.welcome_text == WELCOME["en"] and conf.welcome_translations == WELCOME
    assert conf.out_of_hours_translations == OUT_OF_HOURS
    assert conf.welcome_enabled and conf.out_of_hours_enabled

    before = _rows(shop)
    assert main(["shop", "setup", "--shop", shop.slug]) == 0
    assert "starter set: nothing missing" in capsys.readouterr().out
    assert _rows(shop) == before


def test_a_taobao_shop_gets_its_keyword_set_and_plain_welcome_in_chinese(capsys):
    info = _create(capsys, "--platform", "taobao")
    shop = Shop.objects.get(slug=info["slug"])
    assert list(KeywordRule.objects.filter(shop=shop).values_list("keyword", flat=True)) == [
        k["keyword"] for k in KEYWORDS["zh-hans"]
    ]
    assert AutomationSettings.objects.get(shop=shop).welcome_text == WELCOME["zh-hans"]


def test_a_fresh_shop_welcomes_the_first_buyer_and_keywords_answer_once_turned_on(capsys):
    info = _create(capsys)
    shop = Shop.objects.get(slug=info["slug"])
    question = KEYWORDS["en"][0]["keyword"]

    first = buyer_says(shop, question, buyer="b-1", product=None)
    assert [m.payload["automation"] for m in first.auto_replies] == ["welcome"]

    owner = login_client(User.objects.get(username="lumen"))
    settings = owner.get("/api/v1/automation/settings").json()
    assert settings["keyword_replies_enabled"] is False
    put = owner.put(
        "/api/v1/automation/settings",
        data=json.dumps({**settings, "keyword_replies_enabled": True}),
        content_type="application/json",
    )
    assert put.status_code == 200

    second = buyer_says(shop, question, buyer="b-2", product=None)
    kinds = [m.payload["automation"] for m in second.auto_replies]
    assert kinds == ["welcome", "keyword"]
    assert second.auto_replies[1].text == KEYWORDS["en"][0]["text"]


def test_a_shop_made_before_the_starter_set_gets_it_from_the_setup_page(shop, owner):
    client = login_client(owner)
    page = client.get("/setup/")
    assert page.status_code == 200
    assert not Script.objects.filter(shop=shop).exists()  # a GET never writes

    assert client.post("/setup/").status_code == 302
    counts = (Script.objects.filter(shop=shop).count(), KeywordRule.objects.count())
    assert counts == (len(SCRIPTS), len(KEYWORDS["en"]))
    again = client.post("/api/v1/shop/setup/starter", content_type="application/json")
    assert again.json() == {"scripts": 0, "keywords": 0, "welcome": False, "out_of_hours": False}
    assert (Script.objects.filter(shop=shop).count(), KeywordRule.objects.count()) == counts


def _done(client) -> dict[str, bool]:
    return {s["key"]: s["done"] for s in client.get("/api/v1/shop/setup").json()["steps"]}


def test_checklist_follows_the_seller_through_setup(capsys, monkeypatch):
    info = _create(capsys)
    shop = Shop.objects.get(slug=info["slug"])
    owner = User.objects.get(username="lumen")
    client = login_client(owner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _done(client) == {
        "starter": True,
        "marketplace": False,
        "products": False,
        "orders": False,
        "agents": False,
        "hours": False,
    }
    home = client.get("/inbox/").content.decode()
    assert 'id="setup-panel"' in home and "1 of 6 done" in home

    # Marketplace: a saved URL is not enough, the signed test ping must be answered.
    pings: list[httpx.Request] = []

    def marketplace(request: httpx.Request) -> httpx.Response:
        pings.append(request)
        return httpx.Response(204)

    monkeypatch.setattr(CallbackAdapter, "transport", httpx.MockTransport(marketplace))
    form = {
        "name": "Lumen Store",
        "timezone": "Asia/Shanghai",
        "currency": "USD",
        "callback_url": "https://seller.example/kefu",
        "sign_replies": "on",
        "signature_template": "— {agent_name}",
    }
    assert client.post("/settings/", form).status_code == 302
    assert _done(client)["marketplace"] is False
    assert client.post("/settings/", {"action": "test_ping"}).status_code == 302
    (ping,) = pings
    assert json.loads(ping.content) == {"kind": "ping"}
    stamp = ping.headers["X-Kefu-Timestamp"]
    assert ping.headers["X-Kefu-Shop"] == shop.slug
    assert ping.headers["X-Kefu-Signature"] == sign(
        shop.webhook_secret, ping.content, timestamp=int(stamp)
    )
    assert _done(client)["marketplace"] is True
    assert "Connected: the callback answered" in client.get("/settings/").content.decode()
    # Another URL has not answered yet.
    client.post("/settings/", {**form, "callback_url": "https://other.example/kefu"})
    assert _done(client)["marketplace"] is False

    # Agents in a group, orders from an export, business hours on the automation page.
    assert main(["agent", "create", "--shop", shop.slug, "--login", "ann", "--groups", ""]) == 2
    assert (
        main(["agent", "create", "--shop", shop.slug, "--login", "ann", "--groups", "pre_sale"])
        == 0
    )
    # Exit 3: the sample export keeps one deliberately bad row; the others are stored.
    assert main(["import", "orders", ORDERS_EXPORT, "--shop", shop.slug]) == 3
    hours = client.get("/automation/auto-replies/")
    assert hours.status_code == 200
    conf = AutomationSettings.objects.get(shop=shop)
    posted = client.post(
        "/automation/auto-replies/",
        {
            "welcome_enabled": "on",
            "welcome_text": conf.welcome_text,
            "out_of_hours_enabled": "on",
            "out_of_hours_text": conf.out_of_hours_text,
            "agent_quiet_minutes": "10",
            "suggestions_enabled": "on",
            "languages": ["en", "ru", "es", "zh-hans"],
            "opens_0": "09:00",
            "closes_0": "18:00",
        },
    )
    assert posted.status_code == 302
    # Products have no seller path yet (the catalogue import comes with issue 12 §1).
    add_product(shop, "P-1", "Lamp")
    capsys.readouterr()

    assert _done(client) == dict.fromkeys(
        ("starter", "marketplace", "products", "orders", "agents", "hours"), True
    ) | {"marketplace": False}
    client.post("/settings/", {"action": "test_ping"})
    checklist = client.get("/api/v1/shop/setup").json()
    assert checklist["complete"] is True and checklist["next"] is None
    assert 'id="setup-panel"' not in client.get("/inbox/").content.decode()
    assert main(["shop", "setup", "--shop", shop.slug]) == 0
    assert "setup: 6 of 6 done" in capsys.readouterr().out


def test_a_failing_ping_is_reported_and_records_nothing(shop, owner, monkeypatch):
    monkeypatch.setattr(
        CallbackAdapter,
        "transport",
        httpx.MockTransport(lambda request: httpx.Response(503, text="maintenance")),
    )
    client = login_client(owner)
    none = client.post("/api/v1/shop/callback-ping", content_type="application/json")
    assert none.status_code == 400 and "callback URL" in none.json()["detail"]
    Shop.objects.filter(pk=shop.pk).update(callback_url="https://seller.example/kefu")
    answer = client.post("/api/v1/shop/callback-ping", content_type="application/json").json()
    assert answer == {
        "ok": False,
        "status": 503,
        "detail": "HTTP 503: maintenance",
        "answered_at": None,
    }
    shop.refresh_from_db()
    assert shop.callback_ping_at is None


def test_sub_accounts_see_no_setup_panel_and_may_not_open_the_checklist(shop, pre_agent):
    client = login_client(pre_agent)
    assert 'id="setup-panel"' not in client.get("/inbox/").content.decode()
    assert client.get("/setup/").status_code == 403
    assert client.get("/api/v1/shop/setup").status_code == 403
