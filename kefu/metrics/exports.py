"""CSV and XLSX exports of a report and of the case archive (R-40: exportable reports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from kefu.metrics.compute import METRIC_NAMES
from kefu.metrics.models import Case
from kefu.metrics.selectors import Report

# English name and the Chinese term sellers know, per published figure.
HEADINGS: dict[str, str] = {
    "reception_count": "reception count 接待人数",
    "replied_buyers": "replied buyers 回复人数",
    "messages_received": "messages received 收到消息数",
    "messages_replied": "messages replied 回复消息数",
    "replied_24h": "24h replied messages 24H回复量",
    "reply_rate_24h": "24h reply rate 24H回复率",
    "consult_conversion_rate": "consult conversion rate 咨询转化率",
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


CASE_HEADER = [
    "date 日期",
    "title",
    "agent 客服",
    "buyer 买家",
    "conversation",
    "event 事件",
    "follow-up 跟进",
    "outcome 结果",
    "outcome kind",
    "tags",
]


def case_rows(cases: Iterable[Case]) -> list[list[Any]]:
    return [
        [
            c.date.isoformat(),
            c.title,
            c.agent_name,
            c.buyer_name,
            c.conversation_id or "",
            c.event,
            c.follow_up,
            c.outcome,
            c.outcome_kind,
            c.tags,
        ]
        for c in cases
    ]


def _safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula in a spreadsheet: never run buyer text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) if v is not None else "" for v in row])
    # A BOM so Excel opens the Chinese headings as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append(list(header))
    for row in rows:
        ws.append([_safe(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
