"""The signed-webhook check as a django-ninja auth class, shared by every marketplace webhook."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyHeader

from kefu.accounts.models import Shop
from kefu.integrations.signing import (
    SHOP_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    StaleSignature,
    as_datetime,
    signing_time,
    verify_shop_signature,
)


class SignedWebhook(APIKeyHeader):
    """`X-Kefu-Shop` names the shop, `X-Kefu-Timestamp` is the signing time in unix seconds and
    `X-Kefu-Signature: sha256=<hex>` signs `"<timestamp>.<raw body>"` with the shop's webhook
    secret. The authenticated "user" is the shop."""

    param_name = SIGNATURE_HEADER

    def authenticate(self, request: HttpRequest, key: str | None) -> Shop:
        body = request.body
        # Refuse an oversized body before hashing it, as the webhooks always have.
        if len(body) > settings.KEFU_MAX_INBOUND_BODY_BYTES:
            raise HttpError(413, f"body larger than {settings.KEFU_MAX_INBOUND_BODY_BYTES} bytes")
        try:
            timestamp = signing_time(request.headers.get(TIMESTAMP_HEADER))
        except StaleSignature as exc:
            raise HttpError(401, str(exc)) from exc
        shop = verify_shop_signature(
            slug=request.headers.get(SHOP_HEADER), signature=key, timestamp=timestamp, body=body
        )
        if shop is None:
            # An unknown shop and a wrong signature look the same to the caller.
            raise HttpError(401, "unknown shop or bad signature")
        request.kefu_signed_at = as_datetime(timestamp)  # type: ignore[attr-defined]
        return shop


signed_webhook = SignedWebhook()


def webhook_shop(request: HttpRequest) -> Shop:
    """The shop whose signature `signed_webhook` verified for this request."""
    shop = request.auth  # type: ignore[attr-defined]
    assert isinstance(shop, Shop)  # noqa: S101 - the auth class guarantees it
    return shop


def webhook_signed_at(request: HttpRequest) -> dt.datetime:
    """When the sender signed the request `signed_webhook` verified."""
    signed_at = request.kefu_signed_at  # type: ignore[attr-defined]
    assert isinstance(signed_at, dt.datetime)  # noqa: S101 - the auth class sets it
    return signed_at
