"""The report as a table for the CSV and XLSX downloads (R-40: exportable reports).

Times keep their raw seconds, in a column whose heading says so, for sums and formulas in a
spreadsheet; each is followed by the same time as a seller reads it ("2 h 5 min", in the
language of the page the export was asked from), so the file reads like the dashboard.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.core.durations import format_duration
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
    "first_response_seconds": "first response time 首次响应时间",
    "first_response_business_seconds": (
        "first response time, business hours 首次响应时间（工作时间）"
    ),
    "average_response_seconds": "average response time 平均响应时间",
    "average_response_business_seconds": (
        "average response time, business hours 平均响应时间（工作时间）"
    ),
    "resolution_seconds": "resolution time 解决时长",
    "resolution_business_seconds": "resolution time, business hours 解决时长（工作时间）",
}


def _is_time(name: str) -> bool:
    return name.endswith("_seconds")


def _headings() -> list[str]:
    out: list[str] = []
    for n in METRIC_NAMES:
        heading = HEADINGS.get(n, n)
        if _is_time(n):
            out += [f"{heading} (seconds 秒)", heading]
        else:
            out.append(heading)
    return out


def _values(figures: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for n in METRIC_NAMES:
        value = figures[n]
        if n == "guided_gmv":
            out.append(Decimal(value))
        elif _is_time(n):
            out += [value, "" if value is None else format_duration(value)]
        else:
            out.append(value)
    return out


def report_table(report: Report) -> tuple[list[str], list[list[Any]]]:
    header = [report.by, *_headings()]
    rows: list[list[Any]] = [[r.label, *_values(r.figures)] for r in report.rows]
    rows.append(["total", *_values(report.total)])
    rows.append(
        [f"previous {report.previous_start}..{report.previous_end}", *_values(report.previous)]
    )
    return header, rows
