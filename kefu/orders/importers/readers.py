"""Streaming readers for order exports: CSV (UTF-8, UTF-8 with BOM, UTF-16, GBK/GB18030),
XLSX (openpyxl read-only), old XLS (python-calamine) and JSONL.

Each reader yields `(row_number, record)` one row at a time, where `row_number` is what a
spreadsheet shows (the header is row 1) and `record` maps header text to a cell value.
Progress is reported in `units` (bytes for text files, rows for workbooks).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext

from kefu.core.controls import loads_clean, strip_controls

FORMATS = ("csv", "xlsx", "xls", "jsonl")
SNIFF_BYTES = 64 * 1024

Cell = str | int | float | dt.datetime | dt.date | dt.time | bool | None
Record = dict[str, Any]

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
)


class ImportFileError(Exception):
    """The file as a whole cannot be read as an order export (one clear sentence)."""


@dataclass
class Progress:
    done: int = 0
    total: int = 0


@dataclass
class Source:
    path: Path
    file_format: str
    encoding: str = ""
    progress: Progress = field(default_factory=Progress)
    # (row_number, record) pairs; a record is None when the row itself is unreadable
    rows: Iterator[tuple[int, Record | None, str]] | None = None


def detect_format(path: Path, head: bytes, wanted: str | None) -> str:
    """The file's real format; `wanted` (from --format) must agree with the content."""
    if not head:
        raise ImportFileError(gettext("%(file)s is empty") % {"file": path.name})
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise ImportFileError(
                gettext(
                    "%(file)s is not a spreadsheet (it looks like %(what)s); "
                    "export orders as CSV, XLSX or JSONL"
                )
                % {"file": path.name, "what": what}
            )
    if head.startswith(b"PK\x03\x04"):
        found = "xlsx"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        found = "xls"
    else:
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        looks_utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        if b"\x00" in head and not looks_utf16:
            raise ImportFileError(
                gettext(
                    "%(file)s is not a spreadsheet (it holds binary data); "
                    "export orders as CSV, XLSX or JSONL"
                )
                % {"file": path.name}
            )
        suffix = path.suffix.lower()
        found = "jsonl" if suffix in (".jsonl", ".ndjson") or stripped.startswith(b"{") else "csv"
    if wanted is None:
        return found
    if wanted not in FORMATS:
        raise ImportFileError(f"unknown format {wanted!r}; use one of {', '.join(FORMATS)}")
    text_like = {"csv", "jsonl"}
    if wanted in text_like and found in text_like:
        return wanted
    if wanted == "xlsx" and found == "xls":
        return "xls"
    if wanted != found:
        raise ImportFileError(
            gettext("%(file)s is not %(wanted)s (it looks like %(found)s)")
            % {"file": path.name, "wanted": wanted.upper(), "found": found.upper()}
        )
    return wanted


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            gettext("the file is neither UTF-8 nor GBK text; save it as CSV UTF-8 or XLSX")
        ) from exc


class _CountingReader(io.RawIOBase):
    """Counts bytes as the text layer pulls them: progress without seeking."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._progress.done += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _text_stream(path: Path, encoding: str, progress: Progress) -> io.TextIOWrapper:
    raw = path.open("rb")
    counted = io.BufferedReader(_CountingReader(raw, progress), buffer_size=256 * 1024)
    return io.TextIOWrapper(counted, encoding=encoding, newline="")


def _decode_errors(path: Path, encoding: str) -> Callable[[UnicodeDecodeError], ImportFileError]:
    def wrap(exc: UnicodeDecodeError) -> ImportFileError:
        return ImportFileError(
            gettext(
                "%(file)s is not valid %(encoding)s text past its start; "
                "save it again as CSV UTF-8 or XLSX"
            )
            % {"file": path.name, "encoding": encoding}
        )

    return wrap


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(
    path: Path, encoding: str, progress: Progress
) -> Iterator[tuple[int, Record | None, str]]:
    wrap = _decode_errors(path, encoding)
    with _text_stream(path, encoding, progress) as stream:
        try:
            first = stream.readline()
            delimiter = _sniff_delimiter(first)
            header_reader = csv.reader([first], delimiter=delimiter)
            headers = [h.strip() for h in next(header_reader, [])]
            if not any(headers):
                raise ImportFileError(gettext("%(file)s has no header row") % {"file": path.name})
            yield 1, {"__headers__": headers}, ""
            reader = csv.reader(stream, delimiter=delimiter)
            row_number = 1
            for cells in reader:
                row_number += 1
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
                    yield (
                        row_number,
                        None,
                        (f"{len(cells)} cells but {len(headers)} columns (a stray delimiter?)"),
                    )
                    continue
                cells = [strip_controls(c) for c in cells]
                yield row_number, dict(zip(headers, cells, strict=False)), ""
        except UnicodeDecodeError as exc:
            raise wrap(exc) from exc
        except csv.Error as exc:
            raise ImportFileError(
                gettext("%(file)s: broken CSV (%(error)s)") % {"file": path.name, "error": exc}
            ) from exc


def _jsonl_rows(
    path: Path, encoding: str, progress: Progress
) -> Iterator[tuple[int, Record | None, str]]:
    wrap = _decode_errors(path, encoding)
    with _text_stream(path, encoding, progress) as stream:
        try:
            for line_number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    value = loads_clean(line)
                except json.JSONDecodeError as exc:
                    yield line_number, None, f"not JSON ({exc.msg})"
                    continue
                if not isinstance(value, dict):
                    yield line_number, None, "a line must hold one JSON object"
                    continue
                yield line_number, value, ""
        except UnicodeDecodeError as exc:
            raise wrap(exc) from exc


def _xlsx_rows(path: Path, progress: Progress) -> Iterator[tuple[int, Record | None, str]]:
    import zipfile

    from openpyxl import load_workbook

    # An open file, not the path: openpyxl refuses a path without an .xlsx ending, and an
    # uploaded export is stored under a generated name.
    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise ImportFileError(
                gettext("%(file)s is a ZIP file but not an Excel workbook") % {"file": path.name}
            ) from exc
        try:
            sheet = workbook.worksheets[0]
            progress.total = int(sheet.max_row or 0)
            yield from _table_rows(path, sheet.iter_rows(values_only=True), progress)
        finally:
            workbook.close()


def _xls_rows(path: Path, progress: Progress) -> Iterator[tuple[int, Record | None, str]]:
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises several unrelated error types
        raise ImportFileError(
            gettext("%(file)s is not a readable Excel workbook") % {"file": path.name}
        ) from exc
    progress.total = int(sheet.total_height)
    yield from _table_rows(path, sheet.iter_rows(), progress)


def _table_rows(
    path: Path, rows: Any, progress: Progress
) -> Iterator[tuple[int, Record | None, str]]:
    headers: list[str] | None = None
    for row_number, cells in enumerate(rows, start=1):
        progress.done = row_number
        if headers is None:
            headers = ["" if c is None else str(c).strip() for c in cells]
            if not any(headers):
                raise ImportFileError(
                    gettext("%(file)s: the first row of the first sheet is empty")
                    % {"file": path.name}
                )
            yield 1, {"__headers__": headers}, ""
            continue
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        cells = [strip_controls(c) if isinstance(c, str) else c for c in cells]
        yield row_number, dict(zip(headers, cells, strict=False)), ""
    if headers is None:
        raise ImportFileError(gettext("%(file)s: the first sheet is empty") % {"file": path.name})


def open_source(path: Path, *, wanted_format: str | None = None) -> Source:
    """Sniff the file and return a lazy row iterator; nothing is read past the first 64 KiB."""
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    file_format = detect_format(path, head, wanted_format)
    progress = Progress(total=path.stat().st_size)
    source = Source(path=path, file_format=file_format, progress=progress)
    if file_format in ("csv", "jsonl"):
        source.encoding = detect_encoding(head)
        reader = _csv_rows if file_format == "csv" else _jsonl_rows
        source.rows = reader(path, source.encoding, progress)
    elif file_format == "xlsx":
        source.rows = _xlsx_rows(path, progress)
    else:
        source.rows = _xls_rows(path, progress)
    return source
