"""Live pushes reach the right sockets only."""

from __future__ import annotations

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.test import Client

from kefu.asgi import application
from kefu.desk.replies import send_reply
from tests.helpers import buyer_says, inbox_events, online
from tests.ws import Socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def _sockets_closed():
    yield
    await Socket.close_all()


def _cookie_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1")]


async def _connect(path: str, headers) -> Socket:
    communicator = Socket(application, path, headers)
    connected = await communicator.connect()
    assert connected
    return communicator


async def test_anonymous_socket_is_refused():
    communicator = Socket(application, "/ws/inbox/", [(b"origin", b"http://127.0.0.1")])
    connected = await communicator.connect()
    assert not connected


async def test_buyer_message_reaches_the_shop_and_not_another_shop(shop, pre_agent, rival):
    await database_sync_to_async(online)(pre_agent)
    ours = await _connect("/ws/inbox/", await database_sync_to_async(_cookie_headers)(pre_agent))
    theirs = await _connect("/ws/inbox/", await database_sync_to_async(_cookie_headers)(rival))
    await database_sync_to_async(buyer_says)(shop, text="Is it waterproof?")
    # Each event is waited for until the message's arrives (a loaded machine may take longer
    # than any fixed quiet spell to relay it): a push that never comes times out and fails.
    kinds: list[str] = []
    while "message_received" not in kinds:
        kinds += [e["kind"] for e in inbox_events(await ours.receive_json(timeout=10))]
    # Ours has had it, so a push to the other shop would have gone out by now too.
    assert await theirs.receive_nothing(timeout=0.5)
    await ours.disconnect()
    await theirs.disconnect()


async def test_reply_reaches_the_widget_buyer(shop, pre_agent):
    from django.core import signing

    from kefu.conversations import consumers

    await database_sync_to_async(online)(pre_agent)
    token = signing.get_cookie_signer(salt=consumers.WIDGET_COOKIE_SALT + shop.slug).sign("w-abc")
    widget = await _connect(
        f"/ws/chat/{shop.slug}/",
        [(b"cookie", f"kefu_chat_{shop.slug}={token}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    result = await database_sync_to_async(buyer_says)(shop, buyer="w-abc")
    await database_sync_to_async(send_reply)(
        actor=pre_agent, conversation=result.conversation, text="We have it!"
    )
    pushed = await widget.receive_json(timeout=10)
    assert pushed["type"] == "message" and pushed["text"].startswith("We have it!")
    await widget.disconnect()


async def test_widget_socket_without_its_cookie_is_refused(shop):
    communicator = Socket(application, f"/ws/chat/{shop.slug}/", [(b"origin", b"http://127.0.0.1")])
    connected = await communicator.connect()
    assert not connected


async def test_a_widget_socket_for_a_marketplace_buyers_id_is_refused(shop):
    """Issue 10 item 1: a validly signed cookie naming a marketplace buyer hears nothing."""
    from django.core import signing

    from kefu.conversations import consumers

    token = signing.get_cookie_signer(salt=consumers.WIDGET_COOKIE_SALT + shop.slug).sign("ae-ivan")
    communicator = Socket(
        application,
        f"/ws/chat/{shop.slug}/",
        [(b"cookie", f"kefu_chat_{shop.slug}={token}".encode()), (b"origin", b"http://127.0.0.1")],
    )
    connected = await communicator.connect()
    assert not connected
