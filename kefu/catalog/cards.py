"""A product as a card in a chat (R-21): what a channel needs to draw it, and the text a
channel without cards shows instead. Language-neutral: it reaches buyers in any language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.catalog.models import Product

CENT = Decimal("0.01")


def _web_link(url: str) -> str:
    # Only http(s): the link is rendered as an href in the buyer's widget and the agent's
    # timeline, and a catalog row is not validated like a form field would be.
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def card_payload(product: Product) -> dict[str, Any]:
    """What a channel needs to draw the card. Money stays a decimal string, never a float.

    ``price`` is None for a product without a price (the catalog's default of 0 means the
    price was never imported), so no channel shows the buyer "0.00".
    """
    return {
        "product_external_id": product.external_id,
        "title": product.title,
        "price": str(product.price.quantize(CENT)) if product.price > 0 else None,
        "currency": product.currency,
        "url": _web_link(product.url),
    }


def card_text(payload: dict[str, Any]) -> str:
    """The readable fallback for channels that cannot draw cards: title, price, link.

    Language-neutral on purpose: it is sent to buyers in any language.
    """
    first = payload["title"]
    if payload["price"] is not None:
        first = f"{first} · {payload['price']} {payload['currency']}"
    return "\n".join(line for line in (first, payload["url"]) if line)
