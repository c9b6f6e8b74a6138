"""Health of the parts a shop depends on: database, broker, channel layer."""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return str(connection.vendor)


def _broker() -> str:
    from kefu.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return str(conn.transport_cls)


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    name = async_to_sync(layer.new_channel)()
    async_to_sync(layer.send)(name, {"type": "health.ping"})
    message = async_to_sync(layer.receive)(name)
    if message.get("type") != "health.ping":
        raise RuntimeError("channel layer returned a different message")
    return type(layer).__name__


def health_report() -> dict[str, Any]:
    checks = {
        "database": _timed(_database),
        "broker": _timed(_broker),
        "channel_layer": _timed(_channel_layer),
    }
    return {
        "ok": all(c["ok"] for c in checks.values()),
        "mode": "redis" if settings.REDIS_URL else "embedded",
        "checks": checks,
    }
