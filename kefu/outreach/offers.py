"""A campaign message's optional coupon or product card (R-37): checked when the campaign is
scheduled, shown to the rule guard with the text, and turned into the message each buyer gets.

The coupon is the keyword rules' coupon (``kefu.automation.coupons``): a readable offer in the
buyer's language, its structured fields in the payload (the widget draws an offer card, the
callback carries the fields). The card is the desk's product card (``kefu.catalog.cards``).
The campaign's own text comes first, as ``payload["intro"]``, and the message's text is the
intro followed by the offer's readable lines, so a channel that draws neither still shows all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop
from kefu.automation.coupons import PERCENT, buyer_facing_language, coupon_offer
from kefu.automation.models import AutomationSettings
from kefu.catalog.cards import card_payload, card_text
from kefu.catalog.models import Product
from kefu.conversations.models import MessageKind
from kefu.outreach.models import CampaignOffer

COUPON_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class OfferIn:
    """What the owner asked the message to carry: a product (its marketplace id) or a coupon."""

    product_external_id: str = ""
    coupon_code: str = ""
    coupon_value: Decimal | None = None
    coupon_currency: str = ""  # ISO code, "%" for a percentage off; empty: the shop's
    coupon_min_spend: Decimal | None = None
    coupon_valid_until: dt.date | None = None

    def is_empty(self) -> bool:
        return not self.product_external_id.strip() and not self.coupon_code.strip()


def checked_offer(*, shop: Shop, offer: OfferIn) -> CampaignOffer | None:
    """An unsaved offer row, None for no offer, or ValidationError with the reason."""
    if offer.is_empty():
        if offer.coupon_value is not None:
            raise ValidationError(_("The coupon needs a code."), code="coupon")
        return None
    if offer.product_external_id.strip() and offer.coupon_code.strip():
        raise ValidationError(
            _("A campaign message carries a coupon or a product card, not both."), code="offer"
        )
    if offer.product_external_id.strip():
        product = Product.objects.filter(
            shop=shop, external_id=offer.product_external_id.strip()
        ).first()
        if product is None:
            raise ValidationError(_("No product of the shop has that id."), code="product")
        if not product.title.strip():
            raise ValidationError(_("this product has no title to show the buyer"), code="title")
        return CampaignOffer(shop=shop, product=product)
    code = offer.coupon_code.strip()
    if not COUPON_CODE.match(code):
        raise ValidationError(_("A coupon code is 1-40 letters, digits, - or _."), code="coupon")
    value = offer.coupon_value
    if value is None or not value.is_finite() or value <= 0:
        raise ValidationError(_("The coupon needs a value above zero."), code="coupon")
    currency = (offer.coupon_currency or shop.currency).strip().upper()
    if currency == PERCENT:
        if value >= 100:
            raise ValidationError(_("A percentage off is less than 100."), code="coupon")
    elif len(currency) != 3 or not currency.isalpha():
        raise ValidationError(
            _("The currency is a 3-letter code such as USD, or a percent sign for a percentage."),
            code="coupon",
        )
    spend = offer.coupon_min_spend
    if spend is not None and (not spend.is_finite() or spend < 0):
        raise ValidationError(_("The minimum spend must be an amount."), code="coupon")
    if offer.coupon_valid_until is None:
        raise ValidationError(_("The coupon needs a last valid day."), code="coupon")
    return CampaignOffer(
        shop=shop,
        coupon_code=code,
        coupon_value=value.quantize(Decimal("0.01")),
        coupon_currency=currency,
        coupon_min_spend=spend.quantize(Decimal("0.01")) if spend is not None else None,
        coupon_valid_until=offer.coupon_valid_until,
    )


def _coupon_text(offer: CampaignOffer, language: str) -> tuple[str, dict[str, Any]]:
    made = coupon_offer(
        code=offer.coupon_code,
        value=offer.coupon_value or Decimal("0"),  # checked_offer requires one
        currency=offer.coupon_currency,
        valid_until=offer.coupon_valid_until,
        min_spend=offer.coupon_min_spend,
        shop_currency=offer.shop.currency,
        shop_timezone=offer.shop.timezone,
        language=language,
    )
    return made.text, made.fields


def offer_language(language: str, conf: AutomationSettings) -> str:
    """The coupon's language for a variant's: one of the languages coupons are written in."""
    return buyer_facing_language(language, conf)


def guard_texts(
    offer: CampaignOffer | None, languages: list[str], conf: AutomationSettings
) -> list[tuple[str, str]]:
    """What the rule guard reads besides the variants: the offer as each language's buyer sees
    it (a card's title and link can break a rule as much as a text can)."""
    if offer is None:
        return []
    if offer.product is not None:
        return [(_("product card"), card_text(card_payload(offer.product)))]
    return [
        (
            _("coupon (%(lang)s)") % {"lang": lang},
            _coupon_text(offer, offer_language(lang, conf))[0],
        )
        for lang in sorted(set(languages))
    ]


@dataclass(frozen=True)
class MessageParts:
    kind: str
    text: str
    payload: dict[str, Any]


def message_parts(
    *, intro: str, offer: CampaignOffer | None, language: str, conf: AutomationSettings
) -> MessageParts:
    """The message a buyer gets: the variant's text alone, or with the coupon / card."""
    if offer is None:
        return MessageParts(MessageKind.TEXT, intro, {})
    if offer.product is not None:
        card = card_payload(offer.product)
        return MessageParts(
            MessageKind.PRODUCT_CARD,
            f"{intro}\n\n{card_text(card)}",
            {**card, "intro": intro},
        )
    text, fields = _coupon_text(offer, offer_language(language, conf))
    return MessageParts(
        MessageKind.COUPON,
        f"{intro}\n\n{text}",
        {"coupon": fields, "intro": intro, "offer_text": text},
    )
