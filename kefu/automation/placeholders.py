"""Placeholder filling for reply scripts (R-11).

A script body holds placeholders such as ``{order_id}``. `render` fills them from a
`PlaceholderContext`; a value that is not known is replaced by a visible gap marker in the
script's language (for example ``[order id?]``) and listed in `Rendered.gaps`, so the reply
box can highlight it and sending can be refused while a gap remains. A raw brace never
reaches the buyer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDERS = (
    "buyer_name",
    "agent_name",
    "order_id",
    "tracking_numbers",
    "carrier",
    "arrival_date",
    "tracking_url",
    "refund_days",
    "order_month",
    "product",
    "ship_by_hours",
    "product_shelf_life",
    "product_suits",
    "product_ships_from",
    "product_dispatch_time",
    "product_differences",
)

_TOKEN = re.compile(r"\{([^{}]*)\}")

# What the agent sees where a value is missing, per script language.
_GAP_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "buyer_name": "buyer name",
        "agent_name": "your name",
        "order_id": "order id",
        "tracking_numbers": "tracking number",
        "carrier": "carrier",
        "arrival_date": "arrival date",
        "tracking_url": "tracking site",
        "refund_days": "refund days",
        "order_month": "order month",
        "product": "product",
        "ship_by_hours": "ship-by hours",
        "product_shelf_life": "shelf life",
        "product_suits": "who it suits",
        "product_ships_from": "ships from",
        "product_dispatch_time": "dispatch time",
        "product_differences": "how it differs",
    },
    "ru": {
        "buyer_name": "имя покупателя",
        "agent_name": "ваше имя",
        "order_id": "номер заказа",
        "tracking_numbers": "трек-номер",
        "carrier": "служба доставки",
        "arrival_date": "дата прибытия",
        "tracking_url": "сайт отслеживания",
        "refund_days": "срок возврата",
        "order_month": "месяц заказа",
        "product": "товар",
        "ship_by_hours": "срок отправки (часы)",
        "product_shelf_life": "срок годности",
        "product_suits": "кому подходит",
        "product_ships_from": "откуда отправка",
        "product_dispatch_time": "срок отправки",
        "product_differences": "чем отличается",
    },
    "es": {
        "buyer_name": "nombre del comprador",
        "agent_name": "tu nombre",
        "order_id": "n.º de pedido",
        "tracking_numbers": "n.º de seguimiento",
        "carrier": "transportista",
        "arrival_date": "fecha de llegada",
        "tracking_url": "web de seguimiento",
        "refund_days": "días de reembolso",
        "order_month": "mes del pedido",
        "product": "producto",
        "ship_by_hours": "horas para enviar",
        "product_shelf_life": "caducidad",
        "product_suits": "para quién es",
        "product_ships_from": "se envía desde",
        "product_dispatch_time": "plazo de envío",
        "product_differences": "en qué se diferencia",
    },
    "zh-hans": {
        "buyer_name": "买家称呼",
        "agent_name": "客服名字",
        "order_id": "订单号",
        "tracking_numbers": "运单号",
        "carrier": "物流公司",
        "arrival_date": "到达日期",
        "tracking_url": "查询网址",
        "refund_days": "退款天数",
        "order_month": "下单月份",
        "product": "商品",
        "ship_by_hours": "发货时限（小时）",
        "product_shelf_life": "保质期",
        "product_suits": "适用人群",
        "product_ships_from": "发货地",
        "product_dispatch_time": "发货时间",
        "product_differences": "与同类区别",
    },
}

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "ru": [
        "январе",
        "феврале",
        "марте",
        "апреле",
        "мае",
        "июне",
        "июле",
        "августе",
        "сентябре",
        "октябре",
        "ноябре",
        "декабре",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}
_LIST_SEPARATOR = {"en": ", ", "ru": ", ", "es": ", ", "zh-hans": "、"}


@dataclass(frozen=True)
class PlaceholderContext:
    """Values a script can use. Everything is optional: a missing value becomes a gap.

    The reply box fills it from the conversation (buyer, agent, product) and, when the
    orders domain has them, from the order and its parcels.
    """

    buyer_name: str | None = None
    agent_name: str | None = None
    order_id: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    carrier: str | None = None
    arrival_date: dt.date | None = None
    tracking_url: str | None = None
    refund_days: str | None = None  # free text such as "3-20" or "7"
    order_month: dt.date | None = None  # any day of the month the order was placed
    product: str | None = None
    ship_by_hours: int | None = None  # the shop's shipping promise (order settings)
    # The product's own facts; empty in the catalogue means a gap the agent fills.
    product_shelf_life: str | None = None
    product_suits: str | None = None
    product_ships_from: str | None = None
    product_dispatch_time: str | None = None
    product_differences: str | None = None


@dataclass(frozen=True)
class Gap:
    name: str
    marker: str


@dataclass(frozen=True)
class Rendered:
    text: str
    language: str
    gaps: list[Gap] = field(default_factory=list)

    @property
    def has_gaps(self) -> bool:
        return bool(self.gaps)


def gap_marker(name: str, language: str) -> str:
    labels = _GAP_LABELS.get(language, _GAP_LABELS["en"])
    return f"[{labels.get(name, name.replace('_', ' '))}?]"


@lru_cache(maxsize=1)
def _gap_pattern() -> re.Pattern[str]:
    markers = {gap_marker(name, lang) for name in PLACEHOLDERS for lang in _GAP_LABELS}
    return re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))


def unfilled_gaps(text: str) -> list[str]:
    """Gap markers a rendered script left in the text ("[order id?]"): never sent to buyers."""
    return _gap_pattern().findall(text)


def format_date(value: dt.date, language: str) -> str:
    if language == "zh-hans":
        return f"{value.year}年{value.month}月{value.day}日"
    if language == "en":
        return f"{_MONTHS['en'][value.month - 1]} {value.day}, {value.year}"
    return value.strftime("%d.%m.%Y") if language == "ru" else value.strftime("%d/%m/%Y")


def format_month(value: dt.date, language: str) -> str:
    if language == "zh-hans":
        return f"{value.year}年{value.month}月"
    months = _MONTHS.get(language, _MONTHS["en"])
    joiner = " de " if language == "es" else " "
    return f"{months[value.month - 1]}{joiner}{value.year}"


def _value(context: PlaceholderContext, name: str, language: str) -> str | None:
    if name == "tracking_numbers":
        numbers = [n.strip() for n in context.tracking_numbers if n and n.strip()]
        return _LIST_SEPARATOR.get(language, ", ").join(numbers) if numbers else None
    if name == "arrival_date":
        return format_date(context.arrival_date, language) if context.arrival_date else None
    if name == "order_month":
        return format_month(context.order_month, language) if context.order_month else None
    raw = getattr(context, name, None)
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def render(body: str, context: PlaceholderContext, language: str) -> Rendered:
    """Fill every ``{name}``; unknown names and missing values become gap markers.

    A lone brace that is not part of a placeholder is dropped so no brace reaches a buyer.
    """
    gaps: list[Gap] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        value = _value(context, name, language) if name in PLACEHOLDERS else None
        if value is not None:
            # A value containing braces must not look like a placeholder to anyone later.
            return value.replace("{", "(").replace("}", ")")
        marker = gap_marker(name or "?", language)
        gaps.append(Gap(name=name, marker=marker))
        return marker

    text = _TOKEN.sub(fill, body).replace("{", "").replace("}", "")
    return Rendered(text=text, language=language, gaps=gaps)


def check_template(body: str) -> None:
    """Reject a script body with an unknown placeholder or an unbalanced brace."""
    unknown = sorted({m.group(1) for m in _TOKEN.finditer(body)} - set(PLACEHOLDERS))
    if unknown:
        raise ValidationError(
            _("unknown placeholder(s): %(names)s; use %(known)s"),
            code="placeholder",
            params={
                "names": ", ".join("{" + n + "}" for n in unknown),
                "known": " ".join("{" + n + "}" for n in PLACEHOLDERS),
            },
        )
    if "{" in _TOKEN.sub("", body) or "}" in _TOKEN.sub("", body):
        raise ValidationError(_("a brace { or } is not closed"), code="brace")
