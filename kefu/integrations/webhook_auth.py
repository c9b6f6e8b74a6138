"""The signed-webhook check as a django-ninja auth class, shared by every marketplace webhook."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyHeader

from kefu.accounts.models import Shop
from kefu.integrations.signing import verify_shop_signature


class SignedWebhook(APIKeyHeader):
    """`X-Kefu-Shop` names the shop, `X-Kefu-Signature: sha256=<hex>` signs the raw body with
    its webhook secret. The authenticated "user" is the shop."""

    param_name = "X-Kefu-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> Shop:
        body = request.body
        # Refuse an oversized body before hashing it, as the webhooks always have.
        if len(body) > settings.KEFU_MAX_INBOUND_BODY_BYTES:
            raise HttpError(413, f"body larger than {settings.KEFU_MAX_INBOUND_BODY_BYTES} bytes")
        shop = verify_shop_signature(
            slug=request.headers.get("X-Kefu-Shop"), signature=key, body=body
        )
        if shop is None:
            # An unknown shop and a wrong signature look the same to the caller.
            raise HttpError(401, "unknown shop or bad signature")
        return shop


signed_webhook = SignedWebhook()


def webhook_shop(request: HttpRequest) -> Shop:
    """The shop whose signature `signed_webhook` verified for this request."""
    shop = request.auth  # type: ignore[attr-defined]
    assert isinstance(shop, Shop)  # noqa: S101 - the auth class guarantees it
    return shop
