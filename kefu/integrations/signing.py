"""HMAC-SHA256 signatures for marketplace webhooks, inbound and outbound.

A signature covers the signing time and the raw body (`"<unix seconds>.<body>"`), so a request
captured on the way can be replayed only inside the window (decisions §25).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

from django.conf import settings

PREFIX = "sha256="
SHOP_HEADER = "X-Kefu-Shop"
SIGNATURE_HEADER = "X-Kefu-Signature"
TIMESTAMP_HEADER = "X-Kefu-Timestamp"


class StaleSignature(Exception):
    """The signing time is missing, not a number, or outside the replay window."""


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    content = str(timestamp).encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def signed_headers(
    *, slug: str, secret: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The three headers that sign `body` for the shop `slug` at `now` (default: this second)."""
    timestamp = int(time.time() if now is None else now)
    return {
        SHOP_HEADER: slug,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, body, timestamp=timestamp),
    }


def signing_time(raw: str | None, *, now: float | None = None) -> int:
    """The signing time of a request, refused when it is outside the replay window.

    Checked before the shop is looked up, so the answer says nothing about which shops exist.
    """
    window = settings.KEFU_WEBHOOK_MAX_AGE_SECONDS
    try:
        timestamp = int((raw or "").strip())
    except ValueError as exc:
        raise StaleSignature(
            f"{TIMESTAMP_HEADER} must be the signing time in unix seconds"
        ) from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > window:
        raise StaleSignature(
            f"{TIMESTAMP_HEADER} is more than {window} s from the server's clock; "
            "sign each request when it is sent"
        )
    return timestamp


def signature_matches(*, secret: str | None, signature: str, timestamp: int, body: bytes) -> bool:
    """Whether ``signature`` signs ``timestamp`` and ``body`` with ``secret``. With no secret (an
    unknown shop) a made-up one is still hashed and compared, so an unknown shop costs the same
    time as a wrong signature and the two look the same to the caller."""
    if not signature.startswith(PREFIX):
        return False
    expected = sign(secret or "x" * 64, body, timestamp=timestamp)
    return hmac.compare_digest(expected, signature.strip()) and secret is not None


def as_datetime(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
