"""The published figures' names as a seller reads them, in both languages.

Each figure has an English msgid translated in the zh-Hans catalogue to the seller centre's own
term (接待人数, 24H回复量, …), so the Chinese interface reads the marketplace's words and the
English one reads English. The Chinese term is also kept beside the English name: sellers
know the figures by it, and the English pages show it in small print.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# key: (name, the seller centre's Chinese term)
METRIC_LABELS: dict[str, tuple[Promise, str]] = {
    "reception_count": (_("Reception count"), "接待人数"),
    "replied_buyers": (_("Replied buyers"), "回复人数"),
    "messages_received": (_("Messages received"), "收到消息数"),
    "messages_replied": (_("Messages replied"), "回复消息数"),
    "replied_24h": (_("Messages replied within 24 h"), "24H回复量"),
    "reply_rate_24h": (_("24 h reply rate"), "24H回复率"),
    "reply_rate": (_("Reply rate"), "回复率"),
    "consult_conversion_rate": (_("Consult conversion rate"), "咨询转化率"),
    "placed_buyers": (_("Buyers guided to place an order"), "引导下单人数"),
    "placed_conversion_rate": (_("Placed-order conversion rate"), "下单转化率"),
    "guided_gmv": (_("Guided GMV"), "引导下单GMV"),
    "first_response_seconds": (_("First response time"), "首次响应时间"),
    "first_response_business_seconds": (
        _("First response time, business hours"),
        "首次响应时间（工作时间）",
    ),
    "average_response_seconds": (_("Average response time"), "平均响应时间"),
    "average_response_business_seconds": (
        _("Average response time, business hours"),
        "平均响应时间（工作时间）",
    ),
    "resolution_seconds": (_("Resolution time"), "解决时长"),
    "resolution_business_seconds": (_("Resolution time, business hours"), "解决时长（工作时间）"),
    "refund_dispute_rate": (_("Refund-dispute rate"), "退款纠纷率"),
    "automation_share": (_("Automation share"), "自动化占比"),
    "replied_24h_with_auto": (
        _("Messages replied within 24 h, automatic replies included"),
        "24H回复量（含自动）",
    ),
    "reply_rate_24h_with_auto": (
        _("24 h reply rate, automatic replies included"),
        "24H回复率（含自动）",
    ),
    "reply_rate_with_auto": (_("Reply rate, automatic replies included"), "回复率（含自动）"),
}

# Figures in seconds, shown as durations ("2 h 5 min").
DURATIONS: frozenset[str] = frozenset(k for k in METRIC_LABELS if k.endswith("_seconds"))


def label(key: str) -> str:
    """The figure's name in the active language."""
    return str(METRIC_LABELS[key][0])


def chinese_term(key: str) -> str:
    return METRIC_LABELS[key][1]
