"""Streaming readers for the import files (order and product exports): CSV (UTF-8, UTF-8
with BOM, UTF-16, GBK/GB18030), XLSX (openpyxl read-only), old XLS (python-calamine) and JSONL.

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
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext

from kefu.core.controls import loads_clean, strip_controls
from kefu.core.filelimits import (
    FileLimitError,
    ImportLimits,
    check_file_size,
    check_text_lines,
    check_xlsx,
    import_limits,
    too_many_rows,
)
from kefu.core.textnorm import normalize

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


# A column mapping's target that reads nothing from the column.
IGNORE = "-"


class ColumnsError(ValueError):
    """The file's columns cannot be used as they are (a required field has no column, a
    mapping names a column the file lacks). `headers` are the file's headers, so a page can
    offer to map them; `missing` the required fields without a column."""

    def __init__(
        self, message: str, *, headers: Sequence[str] = (), missing: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.headers = list(headers)
        self.missing = list(missing)


def header_key(text: str) -> str:
    """A header folded for matching: width, case, script, spaces and punctuation ignored."""
    return re.sub(r"[\W_]+", "", normalize(text.strip()))


class HeaderIndex:
    """The headers an importer recognises: each field's aliases, and the columns of known
    exports it does not keep (neither "unknown" nor offered for mapping)."""

    def __init__(self, aliases: Mapping[str, Sequence[str]], known_unused: Sequence[str]) -> None:
        self.by_key: dict[str, str] = {}
        for name, names in aliases.items():
            for alias in (name, *names):
                self.by_key.setdefault(header_key(alias), name)
        self.unused = frozenset(header_key(h) for h in known_unused)

    def auto_field(self, header: str) -> str | None:
        """The field a header is read as without a mapping; "-" for a known column Kefu does
        not keep; None when Kefu does not recognise it."""
        key = header_key(header)
        return self.by_key.get(key) or (IGNORE if key in self.unused else None)


def parse_map_option(
    value: str, fields: Sequence[str], error: type[Exception] = ValueError
) -> dict[str, str]:
    """A column mapping written as `"col=field,col2=field2"` (the CLI's --map); field `-`
    ignores a column. A malformed pair or an unknown field raises `error`."""
    overrides: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        column, sep, target = part.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise error(f"--map expects column=field pairs, got {part!r}")
        if target != IGNORE and target not in fields:
            raise error(f"--map: unknown field {target!r}; fields: {', '.join(fields)}")
        overrides[column] = target
    return overrides


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


_PREAMBLE = re.compile(r"^\ufeff?\s*version\s+[\d.]+\s*$", re.IGNORECASE)


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Lines:
    """The physical lines csv.reader pulls, kept per record and with a way to put some back:
    after a record swallowed by an unbalanced quote, the lines it took are read again."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._back: deque[str] = deque()
        self.taken: list[str] = []
        self.ended = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._back.popleft() if self._back else self._stream.readline()
        if not line:
            self.ended = True
            raise StopIteration
        self.taken.append(line)
        return line

    def put_back(self, lines: list[str]) -> None:
        self._back.extendleft(reversed(lines))
        self.ended = False


def _looks_like_a_record(line: str, delimiter: str, width: int) -> bool:
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return False
    return width > 2 and len(cells) == width


def _swallowed(
    cells: list[str], taken: list[str], delimiter: str, width: int, at_end: bool
) -> bool:
    """Whether this record is an unbalanced quote that ran over the lines after it.

    A quoted cell may hold line breaks (a buyer's note); a line inside it that reads as a whole
    record of this file, or a quote still open at the end of the file, means the quote was
    never closed and the "cell" is really the rows below it.
    """
    if not any("\n" in c or "\r" in c for c in cells):
        return False
    if any(_looks_like_a_record(line, delimiter, width) for line in taken[1:]):
        return True
    return at_end and "".join(taken).count('"') % 2 == 1


def _cell_too_long(headers: list[str], cells: list[Any], limit: int) -> str:
    for n, cell in enumerate(cells):
        if isinstance(cell, str) and len(cell) > limit:
            column = headers[n] if n < len(headers) and headers[n] else f"#{n + 1}"
            return gettext(
                "the cell in column %(column)s has %(n)s characters; the limit is %(limit)s"
            ) % {"column": column, "n": len(cell), "limit": limit}
    return ""


def _csv_rows(
    path: Path, encoding: str, progress: Progress, limits: ImportLimits
) -> Iterator[tuple[int, Record | None, str]]:
    wrap = _decode_errors(path, encoding)
    with _text_stream(path, encoding, progress) as stream:
        try:
            first = stream.readline()
            row_number = 1
            if _PREAMBLE.match(first):
                # 淘宝助理's product CSV starts with its format's version; the header follows.
                first = stream.readline()
                row_number = 2
            delimiter = _sniff_delimiter(first)
            header_reader = csv.reader([first], delimiter=delimiter)
            headers = [h.strip() for h in next(header_reader, [])]
            if not any(headers):
                raise ImportFileError(gettext("%(file)s has no header row") % {"file": path.name})
            width = max(n for n, h in enumerate(headers) if h) + 1
            header_row = row_number
            yield row_number, {"__headers__": headers}, ""
            lines = _Lines(stream)
            reader = csv.reader(lines, delimiter=delimiter)
            error = ""
            while True:
                lines.taken = []
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    # The csv module gives up on a cell past 128 KiB: a runaway quote, or one
                    # cell far over the limit. Either way this row is rejected and the lines
                    # the quote took are read again as rows of their own.
                    cells = None
                    error = str(exc)
                taken = lines.taken
                if cells is not None and not any(c.strip() for c in cells):
                    continue
                row_number += 1
                if row_number > limits.rows + header_row:
                    raise ImportFileError(too_many_rows(path.name, limits.rows))
                if cells is None and "field limit" not in error:
                    lines.put_back(taken[1:])
                    yield (
                        row_number,
                        None,
                        gettext("unreadable CSV row (%(error)s)") % {"error": error},
                    )
                    continue
                if cells is None and len(taken) <= 1:
                    yield (
                        row_number,
                        None,
                        gettext("a cell in this row has more than %(limit)s characters")
                        % {"limit": limits.cell_chars},
                    )
                    continue
                if cells is None or _swallowed(cells, taken, delimiter, width, lines.ended):
                    lines.put_back(taken[1:])
                    yield (
                        row_number,
                        None,
                        gettext(
                            "a quote in this row is never closed (it would swallow the rows "
                            "below it); the row is skipped"
                        ),
                    )
                    continue
                if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
                    yield (
                        row_number,
                        None,
                        gettext("%(n)s cells but %(columns)s columns (a stray delimiter?)")
                        % {"n": len(cells), "columns": len(headers)},
                    )
                    continue
                if len(cells) < width:
                    yield (
                        row_number,
                        None,
                        gettext("row has %(n)s cells, header has %(columns)s")
                        % {"n": len(cells), "columns": width},
                    )
                    continue
                too_long = _cell_too_long(headers, cells, limits.cell_chars)
                if too_long:
                    yield row_number, None, too_long
                    continue
                cells = [strip_controls(c) for c in cells]
                yield row_number, dict(zip(headers, cells, strict=False)), ""
        except UnicodeDecodeError as exc:
            raise wrap(exc) from exc


def _long_value(value: Any, limit: int) -> str:
    """The name of the first text value (at any depth) longer than `limit`, else ""."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, str) and len(item) > limit:
            return name or "?"
        if isinstance(item, dict):
            stack.extend((str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((name, v) for v in item)
    return ""


def _jsonl_rows(
    path: Path, encoding: str, progress: Progress, limits: ImportLimits
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
                long_value = _long_value(value, limits.cell_chars)
                if long_value:
                    yield (
                        line_number,
                        None,
                        gettext("%(field)s is longer than %(limit)s characters")
                        % {"field": long_value, "limit": limits.cell_chars},
                    )
                    continue
                yield line_number, value, ""
        except UnicodeDecodeError as exc:
            raise wrap(exc) from exc


def _xlsx_rows(
    path: Path, progress: Progress, limits: ImportLimits
) -> Iterator[tuple[int, Record | None, str]]:
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
            yield from _table_rows(path, sheet.iter_rows(values_only=True), progress, limits)
        finally:
            workbook.close()


def _xls_rows(
    path: Path, progress: Progress, limits: ImportLimits
) -> Iterator[tuple[int, Record | None, str]]:
    import python_calamine

    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises several unrelated error types
        raise ImportFileError(
            gettext("%(file)s is not a readable Excel workbook") % {"file": path.name}
        ) from exc
    progress.total = int(sheet.total_height)
    if progress.total > limits.rows + 1:
        raise ImportFileError(too_many_rows(path.name, limits.rows))
    yield from _table_rows(path, sheet.iter_rows(), progress, limits)


def _table_rows(
    path: Path, rows: Any, progress: Progress, limits: ImportLimits
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
        if row_number > limits.rows + 1:
            raise ImportFileError(too_many_rows(path.name, limits.rows))
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        too_long = _cell_too_long(headers, list(cells), limits.cell_chars)
        if too_long:
            yield row_number, None, too_long
            continue
        cells = [strip_controls(c) if isinstance(c, str) else c for c in cells]
        yield row_number, dict(zip(headers, cells, strict=False)), ""
    if headers is None:
        raise ImportFileError(gettext("%(file)s: the first sheet is empty") % {"file": path.name})


def open_source(path: Path, *, wanted_format: str | None = None) -> Source:
    """Sniff the file, check it against the import limits and return a lazy row iterator.

    The limit checks read the file as bytes in blocks (a workbook's parts inflated without
    being kept); a file over a limit raises `ImportFileError` before any row is read.
    """
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    limits = import_limits()
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    file_format = detect_format(path, head, wanted_format)
    try:
        check_file_size(path, limits)
        if file_format == "xlsx":
            check_xlsx(path, limits)
        elif file_format in ("csv", "jsonl"):
            check_text_lines(path, limits)
    except FileLimitError as exc:
        raise ImportFileError(str(exc)) from exc
    progress = Progress(total=path.stat().st_size)
    source = Source(path=path, file_format=file_format, progress=progress)
    if file_format in ("csv", "jsonl"):
        source.encoding = detect_encoding(head)
        reader = _csv_rows if file_format == "csv" else _jsonl_rows
        source.rows = reader(path, source.encoding, progress, limits)
    elif file_format == "xlsx":
        source.rows = _xlsx_rows(path, progress, limits)
    else:
        source.rows = _xls_rows(path, progress, limits)
    return source


# A file of 200k bad rows must not keep 200k reasons: the first ones tell the seller enough.
MAX_REJECTIONS_KEPT = 200


@dataclass
class RowTally:
    """What an import did with a file's rows; each importer's summary adds its own fields.
    Every row counts once: created, updated, unchanged or rejected (decisions §28)."""

    file_format: str = ""
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    def reject(self, row: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append((row, reason))
