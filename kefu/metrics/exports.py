"""The report as a table for the CSV and XLSX downloads (R-40: exportable reports)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.metrics.compute import METRIC_NAMES
from kefu.metrics.selectors import Report

# English name and the Chinese term sellers know, per published figure.
HEADINGS: dict[str, str] = {
    "reception_count": "reception count 接待人数",
    "replied_buyers": "replied buyers 回复人数",
    "messages_received": "messages received 收到消息数",
    "messages_replied": "messages replied 回复消息数",
    "replied_24h": "24h replied messages 24H回复量",
    "reply_rate_24h": "24h reply rate 24H回复率",
    "reply_rate": "reply rate 回复率",
    "consult_conversion_rate": "consult conversion rate 咨询转化率",
    "placed_buyers": "buyers guided to place an order 引导下单人数",
    "placed_conversion_rate": "placed-order conversion rate 下单转化率",
    "replied_24h_with_auto": "24h replied, automatic replies included 24H回复量(含自动)",
    "reply_rate_24h_with_auto": "24h reply rate, automatic replies included 24H回复率(含自动)",
    "reply_rate_with_auto": "reply rate, automatic replies included 回复率(含自动)",
    "guided_gmv": "guided GMV 引导下单GMV",
}


def _values(figures: dict[str, Any]) -> list[Any]:
    return [Decimal(figures[n]) if n == "guided_gmv" else figures[n] for n in METRIC_NAMES]


def report_table(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = [report.by, *(HEADINGS.get(n, n) for n in METRIC_NAMES)]
    rows: list[list[Any]] = [[r.label, *_values(r.figures)] for r in report.rows]
    rows.append(["total", *_values(report.total)])
    rows.append(
        [f"previous {report.previous_start}..{report.previous_end}", *_values(report.previous)]
    )
    return header, rows
