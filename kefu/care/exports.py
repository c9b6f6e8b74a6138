"""The case archive as a table for the CSV and XLSX downloads (R-40: exportable reports)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kefu.care.models import Case

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
