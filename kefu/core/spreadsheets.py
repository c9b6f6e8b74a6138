"""CSV and XLSX exports (R-40): every download goes through here, so buyer and agent text
is never read as a formula by the seller's spreadsheet."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook

# Excel, LibreOffice and Sheets start a formula at these, also after a tab or a line break.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _safe(value: Any) -> Any:
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        # The seller reads the shop's wall clock (the zone the request activated); a
        # spreadsheet cell holds no zone, so the moment is written as that clock shows it.
        return timezone.localtime(value).replace(tzinfo=None)
    # A buyer writing "=HYPERLINK(...)" must reach the seller as text, never as a live formula.
    if isinstance(value, str) and value.lstrip(" ")[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _cell_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell_text(_safe(v)) for v in row])
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


def spreadsheet_response(
    *, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]], name: str, title: str
) -> HttpResponse:
    """The download of ``rows`` as ``fmt`` ("csv" or "xlsx"), named ``name.fmt``."""
    if fmt == "csv":
        response = HttpResponse(to_csv(header, rows), content_type="text/csv")
    else:
        response = HttpResponse(to_xlsx(header, rows, title), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
