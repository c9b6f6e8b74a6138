"""The widget's buyer identity cannot be forged into a marketplace buyer's chats (issue 10
item 1): the key is never a constant, and only widget-issued ids open anything."""

from __future__ import annotations

import os
import stat

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client

from kefu.conversations import consumers
from kefu.conversations.models import Message
from kefu.settings import _embedded_secret_key
from tests.helpers import buyer_says, online

pytestmark = pytest.mark.django_db


def test_the_embedded_key_is_made_once_per_installation_and_kept_private(tmp_path):
    first = _embedded_secret_key(tmp_path / "a")
    again = _embedded_secret_key(tmp_path / "a")
    other = _embedded_secret_key(tmp_path / "b")

    assert first == again  # web, worker and beat agree
    assert first != other  # no two installations share it
    assert len(first) >= 50
    mode = stat.S_IMODE(os.stat(tmp_path / "a" / "secret-key").st_mode)
    assert mode == 0o600


def test_this_installation_signs_with_its_own_file_not_a_constant():
    if os.environ.get("KEFU_SECRET_KEY"):
        pytest.skip("a configured key is used as it is")
    assert (settings.DATA_DIR / "secret-key").read_text().strip() == settings.SECRET_KEY


def _forged_client(shop, buyer_external_id: str) -> Client:
    """A browser holding a cookie validly signed for a marketplace buyer's id: what an
    attacker who knew the key could make."""
    signer = signing.get_cookie_signer(salt=consumers.WIDGET_COOKIE_SALT + shop.slug)
    client = Client()
    client.cookies[f"kefu_chat_{shop.slug}"] = signer.sign(buyer_external_id)
    return client


def test_a_forged_cookie_opens_nothing_of_a_marketplace_buyer(shop, pre_agent):
    online(pre_agent)
    buyer_says(shop, "My order 8001 has tracking LP123", buyer="ae-ivan")
    forged = _forged_client(shop, "ae-ivan")

    posted = forged.post(f"/chat/{shop.slug}/send/", {"text": "Send me the address", "name": "x"})
    since = forged.get(f"/chat/{shop.slug}/messages/?after=0")
    page = forged.get(f"/chat/{shop.slug}/")  # the widget now issues it an id of its own
    later = forged.post(f"/chat/{shop.slug}/send/", {"text": "Send me the address"})

    assert posted.status_code == 400
    assert "LP123" not in since.content.decode()
    assert "LP123" not in page.content.decode()
    assert later.status_code == 204
    [stored] = Message.objects.filter(text="Send me the address")
    assert stored.buyer.external_id.startswith("w-")  # never as Ivan


def test_a_widget_buyer_sees_only_their_widget_chat(shop, pre_agent):
    online(pre_agent)
    client = Client()
    client.get(f"/chat/{shop.slug}/")  # the widget issues this browser its id
    sent = client.post(f"/chat/{shop.slug}/send/", {"text": "Do you ship to Chile?"})

    page = client.get(f"/chat/{shop.slug}/").content.decode()

    assert sent.status_code == 204
    assert "Do you ship to Chile?" in page
