"""The lean intake app (`kefu.intake_wsgi.LeanIntake`, decisions §78) answers the single
webhook exactly as Django's handler on the intake settings does: the same status, headers and
JSON body for the same request, and the same rows stored.

Each case is sent to both WSGI callables directly (no HTTP server): to Django's handler with
external ids under "dj-" and to the lean app under "ln-" (same shop, so the ids differ and the
answers are compared once the prefix and the database ids are blanked)."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, close_old_connections, connections
from django.test import RequestFactory, override_settings

from kefu import intake_settings, intake_wsgi
from kefu.conversations.models import IntakeMessage, Message
from kefu.intake_wsgi import SINGLE_PATH, LeanIntake
from kefu.integrations import api as integrations_api
from kefu.integrations.signing import signed_headers
from tests.helpers import online

pytestmark = pytest.mark.django_db

ON_INTAKE = override_settings(
    ROOT_URLCONF=intake_settings.ROOT_URLCONF, MIDDLEWARE=intake_settings.MIDDLEWARE
)
PREFIXES = ("dj-", "ln-")


class Apps:
    """Django's handler and the lean app in front of another one, with a count of the
    requests the lean app passed on to Django (it should take every case here but the ones
    it leaves to Django on purpose)."""

    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.lean = LeanIntake(WSGIHandler())
        self.passed_on = 0
        inner = self.lean.django

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            self.passed_on += 1
            return inner(environ, start_response)

        self.lean.django = counting  # type: ignore[assignment]


@pytest.fixture
def apps() -> Iterator[Apps]:
    # As Django's test client does: a request's end must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with ON_INTAKE:
            yield Apps()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def message(ext: str, buyer: str = "", **fields: Any) -> dict[str, Any]:
    # A buyer of its own by default: the per-buyer limit counts only where a case means it.
    return {
        "external_id": ext,
        "buyer": {"external_id": buyer or f"buyer-{ext}", "name": "Olga", "language": "en"},
        "entry_point": "product_page",
        "text": f"is the lamp in stock? ({ext})",
        **fields,
    }


def call(
    app: Any, body: bytes, headers: dict[str, str], path: str = SINGLE_PATH, **environ: Any
) -> tuple[str, list[tuple[str, str]], bytes]:
    request = RequestFactory().post(
        path, data=body, content_type="application/json", headers=headers
    )
    env = {**request.environ, **environ, "wsgi.input": io.BytesIO(body)}
    started: list[Any] = []
    content = b"".join(app(env, lambda status, h, *a: started.append((status, h))))
    status, answer_headers = started[0]
    return status, list(answer_headers), content


def normal(answer: tuple[str, list[tuple[str, str]], bytes], prefix: str) -> dict[str, Any]:
    """An answer with the app's id prefix and the database ids blanked."""
    status, headers, content = answer
    text = content.decode().replace(prefix, "X-")
    text = re.sub(r'"(id|conversation_id|message_id)": \d+', r'"\1": 0', text)
    kept = [(k, v) for k, v in headers if k != "X-Request-ID"]
    if content and "Content-Length" in dict(headers):
        # The ids' digits may differ in number; the length is checked against the content.
        assert dict(headers)["Content-Length"] == str(len(content))
        kept = [(k, v if k != "Content-Length" else "n") for k, v in kept]
    request_id = dict(headers).get("X-Request-ID", "")
    return {"status": status, "headers": kept, "body": text, "request_id_ok": bool(request_id)}


def both(
    apps: Apps,
    shop: Any,
    make: Any,
    *,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
    **environ: Any,
) -> dict[str, Any]:
    """The case `make(prefix)` sent to both apps; their normalised answers, asserted equal."""
    answers = []
    for prefix, app in zip(PREFIXES, (apps.django, apps.lean), strict=True):
        body = raw if raw is not None else json.dumps(make(prefix)).encode()
        signed = signed_headers(slug=shop.slug, secret=secret or shop.webhook_secret, body=body)
        answers.append(normal(call(app, body, {**signed, **(headers or {})}, **environ), prefix))
    assert answers[0] == answers[1]
    return answers[0]


def stored(shop: Any, prefix: str) -> list[tuple[Any, ...]]:
    rows = Message.objects.filter(shop=shop, external_id__startswith=prefix).order_by("id")
    return [
        (
            m.external_id.removeprefix(prefix),
            m.text.replace(prefix, "X-"),
            m.direction,
            m.buyer.external_id.replace(prefix, "X-"),
            m.buyer.name,
            m.conversation.group,
            m.conversation.assignee_id,
            m.conversation.entry_point,
            m.kind,
        )
        for m in rows.select_related("buyer", "conversation")
    ]


def test_the_same_requests_get_the_same_answers_and_store_the_same_rows(
    apps, shop, pre_agent, rate_clock
):
    online(pre_agent)
    shop.intake_per_buyer_per_minute = 3
    shop.save()

    new = both(apps, shop, lambda p: message(f"{p}m-1", buyer=f"{p}b-1"))
    assert new["status"] == "202 Accepted" and '"status": "queued"' in new["body"]
    # The worker is eager in tests: the retry is answered from the stored message.
    again = both(apps, shop, lambda p: message(f"{p}m-1", buyer=f"{p}b-1"))
    assert again["status"] == "200 OK" and '"duplicate": true' in again["body"]
    # Control characters are taken out of the text before it is stored.
    both(apps, shop, lambda p: message(f"{p}m-2", buyer=f"{p}b-2", text=f"lamp\x00\u200b ok {p}"))
    # The buyer's third request in the minute is the last one counted; the fourth is 429.
    third = both(apps, shop, lambda p: message(f"{p}m-3", buyer=f"{p}b-1"))
    assert third["status"] == "202 Accepted"
    limited = both(apps, shop, lambda p: message(f"{p}m-4", buyer=f"{p}b-1"))
    assert limited["status"] == "429 Too Many Requests", limited
    assert "Retry-After" in dict(limited["headers"]) and "retry_after" in limited["body"]

    refusals = {
        "forged": both(apps, shop, lambda p: message(f"{p}f-1"), secret="not-the-secret"),
        "stale": both(
            apps,
            shop,
            lambda p: message(f"{p}f-2"),
            headers={"X-Kefu-Timestamp": str(int(time.time()) - 3600)},
        ),
        "not json": both(apps, shop, None, raw=b'{"external_id": '),
        "not utf-8": both(apps, shop, None, raw=b'{"text": "\xff"}'),
        "not an object": both(apps, shop, None, raw=b'"ru"'),
        "invalid": both(apps, shop, lambda p: {"external_id": f"{p}f-3", "buyer": "x"}),
        "entry point": both(apps, shop, lambda p: message(f"{p}f-4", entry_point="nowhere")),
        "naive time": both(apps, shop, lambda p: message(f"{p}f-5", sent_at="2026-11-11T00:00:00")),
        "long text": both(apps, shop, lambda p: message(f"{p}f-6", text="x" * 10_001)),
        "oversize body": both(apps, shop, lambda p: message(f"{p}f-7", text="x" * 70_000)),
    }
    assert {k: v["status"][:3] for k, v in refusals.items()} == {
        "forged": "401",
        "stale": "401",
        "not json": "400",
        "not utf-8": "400",
        "not an object": "400",
        "invalid": "400",
        "entry point": "400",
        "naive time": "400",
        "long text": "413",
        "oversize body": "413",
    }
    # Only the body over the webhook's limit went to Django's handler (it refuses it there).
    assert apps.passed_on == 1

    assert stored(shop, "dj-") == stored(shop, "ln-")
    assert len(stored(shop, "ln-")) == 3
    assert not IntakeMessage.objects.exists()


def test_headers_language_and_request_id_are_the_middlewares(apps, shop, pre_agent):
    online(pre_agent)
    given = {"X-Request-ID": "conn-42.a_b", "Accept-Language": "en-US,en;q=0.8"}
    answer = both(apps, shop, lambda p: message(f"{p}h-1"), headers=given)
    assert ("Content-Language", "en") in answer["headers"]
    names = [k for k, _ in answer["headers"]]
    assert names[:1] == ["Content-Type"] and "Referrer-Policy" in names
    for app in (apps.django, apps.lean):
        body = json.dumps(message(f"h-{id(app)}")).encode()
        headers = {**signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body), **given}
        assert ("X-Request-ID", "conn-42.a_b") in call(app, body, headers)[1]
    # A refusal in the language asked for; Chinese by default.
    zh = both(apps, shop, lambda p: message(f"{p}h-2", entry_point="x"), secret="bad")
    assert ("Content-Language", "zh-hans") in zh["headers"]
    # HTTPS behind the proxy (`KEFU_HTTPS`): HSTS, as the middleware adds it.
    with override_settings(
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"), SECURE_HSTS_SECONDS=60
    ):
        apps.lean = LeanIntake(WSGIHandler())
        apps.django = WSGIHandler()
        secure = both(
            apps, shop, lambda p: message(f"{p}h-3"), headers={"X-Forwarded-Proto": "https"}
        )
    assert ("Strict-Transport-Security", "max-age=60") in secure["headers"]


def test_what_the_lean_path_leaves_to_django_is_answered_by_django(apps, shop, pre_agent):
    online(pre_agent)
    # A host not allowed, a query string, a cookie, another route: Django's handler answers.
    bad_host = both(apps, shop, lambda p: message(f"{p}d-1"), HTTP_HOST="evil.example")
    assert bad_host["status"].startswith("400")
    lang = both(apps, shop, lambda p: message(f"{p}d-2"), QUERY_STRING="lang=en")
    assert ("Content-Language", "en") in lang["headers"]
    both(apps, shop, lambda p: message(f"{p}d-3"), HTTP_COOKIE="django_language=en")
    batch = both(
        apps, shop, lambda p: {"messages": [message(f"{p}d-4")]}, PATH_INFO=SINGLE_PATH + "/batch"
    )
    assert batch["status"].startswith("202")
    assert apps.passed_on == 4
    assert stored(shop, "dj-") == stored(shop, "ln-")


def test_a_synchronous_shop_is_answered_with_the_routing(apps, shop, pre_agent):
    online(pre_agent)
    shop.intake_synchronous = True
    shop.save()
    answer = both(apps, shop, lambda p: message(f"{p}s-1"))
    assert answer["status"] == "201 Created" and '"status": "processed"' in answer["body"]
    assert stored(shop, "dj-") == stored(shop, "ln-") != []
    assert apps.passed_on == 0


@pytest.mark.parametrize(
    "failure", [OperationalError("server closed the connection"), ValueError("a bug")]
)
def test_a_down_database_is_503_and_a_bug_500_as_in_the_handler(apps, shop, monkeypatch, failure):
    def fail(**kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(integrations_api, "enqueue_message", fail)
    body = json.dumps(message("e-1")).encode()
    answers = [
        normal(
            call(app, body, signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body)),
            "",
        )
        for app in (apps.django, apps.lean)
    ]
    assert answers[0] == answers[1]
    expected = "503" if isinstance(failure, OperationalError) else "500"
    assert answers[1]["status"].startswith(expected)
    assert apps.passed_on == 0


def _variants() -> Iterator[Any]:
    """Message bodies around every field's type and limits, accepted and refused."""
    good = message("v-1", sent_at="2026-11-11T00:00:01+08:00", product_external_id="p-1")
    yield good
    yield {**good, "extra": 1, "buyer": {**good["buyer"], "extra": [1]}}
    for key in list(good):
        yield {k: v for k, v in good.items() if k != key}  # each field missing
        for value in (None, 1, 1.5, True, "", "x" * 121, "x" * 81, [], {}, ["a"]):
            yield {**good, key: value}
    for key in ("external_id", "name", "language", "country"):
        yield {**good, "buyer": {k: v for k, v in good["buyer"].items() if k != key}}
        for value in (None, 7, "", "x" * 3, "x" * 11, "x" * 120, "x" * 121, [], {}):
            yield {**good, "buyer": {**good["buyer"], key: value}}
    for when in ("2026-11-11T00:00:01", "2026-11-11", "not a time", 1700000000, "1700000000"):
        yield {**good, "sent_at": when}
    for entry in ("search", "order_detail", "nowhere", "PRODUCT_PAGE"):
        yield {**good, "entry_point": entry}
    yield from (None, [], "text", 1, [good], {"buyer": "b-1"})


def test_the_plain_models_accept_refuse_and_read_as_the_schema_does(monkeypatch):
    """`_checked` validates with a plain pydantic copy of the message schema first (decisions
    §89): every body gets the same message or the same refusal as through the ninja schema
    alone."""
    cases = list(_variants())
    fast = [integrations_api._checked(data) for data in cases]
    monkeypatch.setattr(integrations_api, "_PlainInboundMessage", integrations_api.InboundMessage)
    through_schema = [integrations_api._checked(data) for data in cases]
    assert fast == through_schema
    accepted = sum(1 for incoming, _ in fast if incoming is not None)
    assert 5 < accepted < len(cases) - 50  # both kinds are exercised


def test_the_request_signals_work_is_done_directly_or_the_signals_are_sent(apps, shop):
    """With only Django's receivers on the request signals the lean path does their work
    itself; with any other receiver connected (here the fixture took Django's connection
    closer off, and a receiver is added) it sends the signals as the handler does."""
    got: list[tuple[str, Any]] = []

    def started(sender: Any, **kwargs: Any) -> None:
        got.append(("started", sender))

    def finished(sender: Any, **kwargs: Any) -> None:
        got.append(("finished", sender))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        body = json.dumps(message("sig-1")).encode()
        headers = signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body)
        status, _, _ = call(apps.lean, body, headers)
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status.startswith("202") and apps.passed_on == 0
    assert got == [("started", WSGIHandler), ("finished", WSGIHandler)]
    assert not apps.lean._only_djangos_receivers()
    # Django's receivers back, and only them: the lean path's own work.
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    try:
        assert LeanIntake(WSGIHandler())._only_djangos_receivers()
    finally:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)


def test_the_direct_request_work_clears_the_query_log_and_closes_an_aged_connection():
    """`_request_started` / `_request_finished` do what Django's receivers do: the query log
    cleared, a connection past CONN_MAX_AGE closed (on a thread's own connection, as a request
    thread of the intake server has)."""
    seen: list[Any] = []

    def request_thread() -> None:
        conn = connections["default"]
        conn.ensure_connection()
        conn.close_at = None  # not yet aged
        conn.queries_log.append({"sql": "SELECT 1", "time": "0"})
        intake_wsgi._request_started()
        seen.append((len(conn.queries_log), conn.connection is not None))
        intake_wsgi._request_finished()
        seen.append(conn.connection is not None)  # kept: not aged
        conn.close_at = time.monotonic() - 1
        intake_wsgi._request_finished()
        seen.append(conn.connection is None)  # aged: closed

    thread = threading.Thread(target=request_thread)
    thread.start()
    thread.join()
    assert seen == [(0, True), True, True]
