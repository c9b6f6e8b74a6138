"""The signed webhooks keep the shop's secret, limits and intake mode per process
(kefu.integrations.shop_cache, decisions §60); whatever the seller changes applies to the very
next request, in this process and in every other."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from kefu.accounts.apps import SHOPS_STAMP
from kefu.accounts.models import Shop
from kefu.conversations.models import IntakeMessage, Message
from kefu.core import stamps
from tests.conftest import login_client
from tests.helpers import post_signed

pytestmark = pytest.mark.django_db


def _message(n: int, buyer: str = "B-1") -> dict[str, object]:
    return {
        "external_id": f"M-{buyer}-{n}",
        "buyer": {"external_id": buyer, "name": "Ann"},
        "entry_point": "product_page",
        "text": f"question {n}",
    }


def _accepted(shop: Shop) -> set[str]:
    queued = IntakeMessage.objects.filter(shop=shop).values_list("external_id", flat=True)
    stored = Message.objects.filter(shop=shop, external_id__isnull=False).values_list(
        "external_id", flat=True
    )
    return {*queued, *stored}


def test_a_rotated_secret_refuses_the_old_one_at_once_and_takes_the_new_one(
    shop, owner, rate_clock
):
    old = shop.webhook_secret
    assert post_signed(Client(), shop, _message(1), secret=old).status_code == 202

    page = login_client(owner).post("/settings/", {"action": "rotate_secret"})
    assert page.status_code == 302
    new = Shop.objects.get(pk=shop.pk).webhook_secret
    assert new != old

    refused = post_signed(Client(), shop, _message(2), secret=old)
    taken = post_signed(Client(), shop, _message(3), secret=new)

    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown shop or bad signature"
    assert taken.status_code == 202
    assert _accepted(shop) == {"M-B-1-1", "M-B-1-3"}


def test_a_limit_the_owner_lowers_applies_to_the_next_request(shop, owner, rate_clock):
    assert post_signed(Client(), shop, _message(1, "B-loud")).status_code == 202

    answer = login_client(owner).patch(
        "/api/v1/shop", data={"intake_per_buyer_per_minute": 1}, content_type="application/json"
    )
    assert answer.status_code == 200

    refused = post_signed(Client(), shop, _message(2, "B-loud"))
    assert refused.status_code == 429
    assert "more than 1 messages a minute about buyer 'B-loud'" in refused.json()["detail"]
    assert post_signed(Client(), shop, _message(1, "B-quiet")).status_code == 202


def test_the_webhook_answer_mode_switch_applies_to_the_next_request(shop, owner, pre_agent):
    assert post_signed(Client(), shop, _message(1)).status_code == 202

    login_client(owner).post("/settings/", {"action": "intake_mode", "intake_synchronous": "on"})
    stored = post_signed(Client(), shop, _message(2))

    assert stored.status_code == 201
    assert stored.json()["status"] == "processed"


def test_a_copy_taken_under_an_older_stamp_is_read_again_before_anything_counts(
    shop, owner, rate_clock
):
    # Another process changed the shop: what this process sees is only the stamp moving.
    # (Here the change is made through a queryset update, which sends no signal, and the
    # stamp is moved the way that other process's save moves it.)
    assert post_signed(Client(), shop, _message(1)).status_code == 202
    Shop.objects.filter(pk=shop.pk).update(webhook_secret="f" * 64, intake_per_minute=1)
    stamps.bump(SHOPS_STAMP)

    refused = post_signed(Client(), shop, _message(2))
    shop.webhook_secret = "f" * 64
    over = post_signed(Client(), shop, _message(3))

    assert refused.status_code == 401
    # The new limit of 1 a minute: the request under the old copy counted, this one is over.
    assert over.status_code == 429
    assert _accepted(shop) == {"M-B-1-1"}


def test_another_process_sees_the_stamp_move_when_a_shop_is_saved(shop, owner):
    code = (
        "import django; django.setup(); "
        "from kefu.core import stamps; print(stamps.current('shops'))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kefu.settings",
        "KEFU_DATA_DIR": str(settings.DATA_DIR),
    }

    def seen_elsewhere() -> str:
        out = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return out.stdout.strip().splitlines()[-1]

    before = seen_elsewhere()
    assert before == stamps.current(SHOPS_STAMP)

    login_client(owner).post("/settings/", {"action": "rotate_secret"})

    after = seen_elsewhere()
    assert after != before
    assert after == stamps.current(SHOPS_STAMP)


def test_an_unknown_shop_and_a_wrong_secret_still_look_the_same(shop):
    assert post_signed(Client(), shop, _message(1)).status_code == 202
    wrong = post_signed(Client(), shop, _message(2), secret="0" * 64)
    unknown = post_signed(Client(), shop, _message(3), slug="nobody")
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert json.loads(wrong.content) == json.loads(unknown.content)
    assert _accepted(shop) == {"M-B-1-1"}
