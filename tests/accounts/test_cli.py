"""`kefu shop create`, `kefu agent create/list/disable`: output, exit codes, nothing half-done."""

from __future__ import annotations

import json

import pytest

from kefu.accounts.models import Shop, User
from kefu.cli import main

pytestmark = pytest.mark.django_db


def test_shop_create_json_prints_slug_secret_and_owner_login(capsys):
    code = main(
        [
            "shop",
            "create",
            "--name",
            "Moon Shop",
            "--platform",
            "tmall",
            "--currency",
            "CNY",
            "--json",
        ]
    )
    info = json.loads(capsys.readouterr().out)
    assert code == 0
    shop = Shop.objects.get(slug=info["slug"])
    assert (info["slug"], shop.platform, shop.currency) == ("moon-shop", "tmall", "CNY")
    assert info["webhook_secret"] == shop.webhook_secret and len(shop.webhook_secret) == 64
    owner = User.objects.get(username=info["owner_login"])
    assert owner.is_owner and owner.check_password(info["owner_password"])


def test_bad_platform_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["shop", "create", "--name", "X", "--platform", "ebay"])
    assert exc.value.code == 2
    assert not Shop.objects.exists()


def test_bad_timezone_is_refused_and_nothing_is_stored(capsys):
    code = main(
        ["shop", "create", "--name", "X", "--platform", "taobao", "--timezone", "Mars/Base"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("kefu: error:") and err.count("\n") == 1
    assert not Shop.objects.exists() and not User.objects.exists()


def test_agent_create_list_and_disable(shop, capsys):
    assert (
        main(
            [
                "agent",
                "create",
                "--shop",
                "aurora",
                "--login",
                "mei",
                "--groups",
                "pre_sale,after_sale",
                "--password",
                "long-password-1",
                "--json",
            ]
        )
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["groups"] == ["pre_sale", "after_sale"]
    assert main(["agent", "list", "--shop", "aurora", "--json"]) == 0
    logins = {row["login"]: row for row in json.loads(capsys.readouterr().out)}
    assert logins["mei"]["active"] is True and logins["owner"]["role"] == "owner"
    assert main(["agent", "disable", "--shop", "aurora", "--login", "mei"]) == 0
    assert User.objects.get(username="mei").is_active is False


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["agent", "create", "--shop", "nope", "--login", "a", "--groups", "pre_sale"], "no shop"),
        (
            ["agent", "create", "--shop", "aurora", "--login", "a", "--groups", "sales"],
            "groups must be",
        ),
        (
            ["agent", "create", "--shop", "aurora", "--login", "owner", "--groups", "pre_sale"],
            "taken",
        ),
        (
            ["agent", "create", "--shop", "aurora", "--login", "A B", "--groups", "pre_sale"],
            "a login is",
        ),
        (
            [
                "agent",
                "create",
                "--shop",
                "aurora",
                "--login",
                "zed",
                "--groups",
                "pre_sale",
                "--password",
                "short",
            ],
            "too short",
        ),
        (["agent", "disable", "--shop", "aurora", "--login", "owner"], "main account"),
    ],
)
def test_agent_bad_input_exits_2(shop, capsys, argv, reason):
    users_before = User.objects.count()
    assert main(argv) == 2
    assert reason in capsys.readouterr().err
    assert User.objects.count() == users_before
