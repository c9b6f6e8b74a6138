from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_broker_and_channel_layer(settings):
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "broker", "channel_layer"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["mode"] == ("redis" if settings.REDIS_URL else "embedded")


def test_healthz_is_503_when_the_broker_is_down(monkeypatch):
    from kefu.core import health

    def broken() -> str:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(health, "_broker", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["detail"].startswith("ConnectionError")
