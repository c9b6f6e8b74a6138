"""Exports: a moment reads as the shop's wall clock, and buyer text never becomes a formula."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

from django.utils import timezone
from openpyxl import load_workbook

from kefu.core.spreadsheets import to_csv, to_xlsx

PAID = dt.datetime(2026, 11, 28, 1, 15, tzinfo=dt.UTC)


def test_a_moment_is_written_in_the_active_shop_zone_in_csv_and_xlsx():
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        csv_text = to_csv(["paid"], [[PAID]]).decode("utf-8-sig")
        sheet = load_workbook(io.BytesIO(to_xlsx(["paid"], [[PAID]], "orders"))).active

    assert csv_text.splitlines() == ["paid", "2026-11-28 09:15:00"]
    assert sheet.cell(row=2, column=1).value == dt.datetime(2026, 11, 28, 9, 15)


def test_buyer_text_starting_like_a_formula_stays_text():
    csv_text = to_csv(["message"], [["=HYPERLINK(1)"], [None]]).decode("utf-8-sig")

    assert csv_text.splitlines() == ["message", "'=HYPERLINK(1)", '""']
