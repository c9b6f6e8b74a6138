"""The owner's "send test ping": a signed POST to the shop's callback URL, so a seller knows
the marketplace connection works before a buyer's reply depends on it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.accounts.services import record_callback_ping
from kefu.integrations.adapters import CallbackAdapter
from kefu.integrations.signing import signed_headers

log = logging.getLogger("kefu.integrations")

PING_BODY = {"kind": "ping"}
# A person waits for the answer on the settings page: shorter than a reply's delivery.
PING_TIMEOUT = 5.0


@dataclass(frozen=True)
class PingResult:
    ok: bool
    status: int | None  # the HTTP status, None when nothing answered
    detail: str  # why it failed, for the owner; empty when it answered 2xx


def send_test_ping(*, actor: User) -> PingResult:
    """POST `{"kind": "ping"}` to the callback URL, signed like every reply
    (`X-Kefu-Shop`, `X-Kefu-Timestamp`, `X-Kefu-Signature`). A 2xx answer is recorded on
    the shop with the URL it answered at; a failure records nothing and says why."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    url = shop.callback_url
    if not url:
        raise ValidationError(_("save a reply callback URL first"), code="no_callback")
    body = json.dumps(PING_BODY).encode()
    headers = {
        "Content-Type": "application/json",
        **signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
    }
    try:
        # The same transport as replies (tests plug a mock one in there).
        with httpx.Client(timeout=PING_TIMEOUT, transport=CallbackAdapter.transport) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        log.info("integrations.ping_failed shop=%s error=%s", shop.pk, type(exc).__name__)
        return PingResult(ok=False, status=None, detail=f"{type(exc).__name__}: {exc}"[:300])
    if not 200 <= response.status_code < 300:
        log.info("integrations.ping_refused shop=%s status=%s", shop.pk, response.status_code)
        return PingResult(
            ok=False,
            status=response.status_code,
            detail=f"HTTP {response.status_code}: {response.text[:200]}",
        )
    record_callback_ping(shop=shop, url=url, answered_at=timezone.now())
    log.info("integrations.ping_answered shop=%s", shop.pk)
    return PingResult(ok=True, status=response.status_code, detail="")
