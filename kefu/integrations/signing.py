"""HMAC-SHA256 signatures for marketplace webhooks, inbound and outbound."""

from __future__ import annotations

import hashlib
import hmac

from kefu.accounts.models import Shop

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_shop_signature(*, slug: str | None, signature: str | None, body: bytes) -> Shop | None:
    """The shop named by ``slug`` when ``signature`` signs ``body`` with its secret, else None.

    An unknown shop and a wrong signature look the same to the caller.
    """
    if not slug or not signature or not signature.startswith(PREFIX):
        return None
    shop = Shop.objects.filter(slug=slug).first()
    expected = sign(shop.webhook_secret if shop else "x" * 64, body)
    if not hmac.compare_digest(expected, signature.strip()) or shop is None:
        return None
    return shop
