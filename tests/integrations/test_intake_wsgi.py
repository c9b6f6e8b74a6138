"""The WSGI intake server (`kefu run --intake-port`, decisions §48) answers the signed webhooks
exactly as the workbench does, and nothing else: no pages, no session API, no static files.

In process here, through Django's handler on the intake settings; tests/test_supervision.py
runs the real granian beside uvicorn and compares both ports' answers."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import threading

import pytest
from django.db import connection, connections
from django.test import Client, override_settings

from kefu import intake_settings, intake_wsgi
from kefu.conversations.models import IntakeMessage, Message
from kefu.intake_wsgi import SETTINGS_MODULE, create_application
from kefu.integrations.signing import signed_headers
from tests.helpers import online, post_signed

pytestmark = pytest.mark.django_db(transaction=False)

ON_INTAKE = override_settings(
    ROOT_URLCONF=intake_settings.ROOT_URLCONF, MIDDLEWARE=intake_settings.MIDDLEWARE
)


def message(ext: str, buyer: str = "b-1") -> dict[str, object]:
    return {
        "external_id": ext,
        "buyer": {"external_id": buyer, "name": "Olga", "language": "en"},
        "entry_point": "product_page",
        "text": f"is the lamp in stock? ({ext})",
    }


def test_a_signed_message_is_accepted_and_a_bad_signature_refused_like_the_workbench(
    shop, pre_agent
):
    online(pre_agent)
    on_workbench = post_signed(Client(), shop, message("wb-1"))
    with ON_INTAKE:
        on_intake = post_signed(Client(), shop, message("in-1"))
        forged = post_signed(Client(), shop, message("in-2"), secret="not-the-secret")
        again = post_signed(Client(), shop, message("in-1"))
    forged_on_workbench = post_signed(Client(), shop, message("in-2"), secret="not-the-secret")

    # 202 queued on both; the worker (eager in tests) stored and routed both messages.
    assert (on_workbench.status_code, on_intake.status_code) == (202, 202)
    assert on_intake.json()["status"] == on_workbench.json()["status"] == "queued"
    assert set(on_intake.json()) == set(on_workbench.json())
    stored = Message.objects.filter(shop=shop, direction="buyer")
    assert sorted(stored.values_list("external_id", flat=True)) == ["in-1", "wb-1"]
    assert {m.conversation.assignee_id for m in stored} == {pre_agent.pk}
    # The same refusal, word for word, and nothing stored for it.
    assert (forged.status_code, forged_on_workbench.status_code) == (401, 401)
    assert forged.json() == forged_on_workbench.json()
    # A retry is the same message: answered from what is stored, stored once.
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["message_id"] == stored.get(external_id="in-1").pk
    assert not IntakeMessage.objects.exists()


def test_the_batch_webhook_is_served_and_checks_each_message(shop, pre_agent):
    online(pre_agent)
    body = json.dumps(
        {"messages": [message("bt-1"), message("bt-2", buyer="b-2"), {"external_id": "x"}]}
    ).encode()
    with ON_INTAKE:
        response = Client().post(
            "/api/v1/inbound/messages/batch",
            data=body,
            content_type="application/json",
            headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
        )
    assert response.status_code == 202, response.content
    assert [r["status"] for r in response.json()["results"]] == ["queued", "queued", "rejected"]
    assert Message.objects.filter(shop=shop, external_id__in=["bt-1", "bt-2"]).count() == 2


def test_pages_and_the_session_api_are_not_served(shop, owner):
    with ON_INTAKE:
        client = Client()
        client.force_login(owner)
        answers = {
            url: client.get(url).status_code
            for url in ("/inbox/", "/login/", "/api/v1/conversations/", "/static/kefu.css")
        }
        health = client.get("/healthz")
    assert answers == dict.fromkeys(answers, 404)
    assert health.status_code == 200 and health.json()["ok"] is True


def test_the_server_keeps_its_database_connections_and_loads_its_own_settings(monkeypatch):
    # Threads are a fixed pool under WSGI: each keeps its connection. No `SELECT 1` before
    # each request: a dropped connection is replaced when a statement fails on it
    # (test_a_connection_postgresql_dropped_is_replaced_for_the_single_webhook).
    default = intake_settings.DATABASES["default"]
    assert default["CONN_MAX_AGE"] > 0 and default["CONN_HEALTH_CHECKS"] is False
    # The workbench's own settings are untouched (it closes its connection per request).
    assert connection.settings_dict["CONN_MAX_AGE"] == 0
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "kefu.settings")
    application = create_application()
    # The server's environment may name the workbench's settings; the server takes its own.
    assert os.environ["DJANGO_SETTINGS_MODULE"] == SETTINGS_MODULE
    assert callable(application)


@pytest.mark.parametrize("database_url", ["", "postgres://postgres@127.0.0.1:5432/kefu"])
def test_importing_the_intake_app_leaves_the_settings_to_choose(database_url):
    """The server imports `kefu.intake_wsgi` (and with it the Celery app) before the intake
    settings are chosen; if that import loads Django's settings, the intake server serves the
    whole workbench with the workbench's settings. Checked on both intake modes: SQLite's
    polling worker and PostgreSQL's kicks, whose beat schedule differs."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_DATABASE", "DJANGO"))}
    env["DJANGO_SETTINGS_MODULE"] = "kefu.settings"
    if database_url:
        env["KEFU_DATABASE_URL"] = database_url
    probe = (
        "import kefu.intake_wsgi\nfrom django.conf import settings\nprint(settings.configured)\n"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_a_request_thread_closes_its_own_database_connection_when_it_ends(monkeypatch):
    """granian ends a request thread idle for `--blocking-threads-idle-timeout`; the thread's
    Django connection must close with it, not wait for a garbage collection (decisions §81)."""
    seen: list[tuple[object, object]] = []

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        # This thread's own wrapper and the driver's connection under it.
        seen.append((connections["default"], connection.connection))
        return [b""]

    monkeypatch.setattr(intake_wsgi, "create_application", lambda: app)
    monkeypatch.setattr(intake_wsgi, "_leave_with_parent", lambda parent, me: None)
    serve = intake_wsgi.served_application()

    def request_thread() -> None:
        serve({}, None)
        serve({}, None)  # the same thread's second request keeps the same connection

    thread = threading.Thread(target=request_thread)
    gc.disable()  # no collection may find the ended thread's wrapper first
    try:
        thread.start()
        thread.join()
        (wrapper, raw), again = seen
        assert again == (wrapper, raw)
        assert wrapper is not connections["default"]  # not this test's connection
        # Closed when the thread ended, by the thread's own closer.
        assert wrapper.connection is None
        if connection.vendor == "postgresql":
            assert raw.closed
        else:
            with pytest.raises(sqlite3.ProgrammingError):
                raw.execute("SELECT 1")
    finally:
        gc.enable()
    # The test's own connection is untouched.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
