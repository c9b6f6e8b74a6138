"""Limits on imported files (issue 10 item 3): size, unzipped size, rows and cell length.

Every check here reads the file as bytes, in fixed-size blocks, before any parser sees it, so
a file that breaks a limit is refused in about the time it takes to read it, with a flat
memory footprint; the parsers (csv, openpyxl, calamine) only ever see files that passed.
The limits are settings (`KEFU_IMPORT_*`, documented in docs/operations.md).
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext

BLOCK = 1 << 20


class FileLimitError(Exception):
    """The file breaks an import limit: one sentence saying which, for the seller."""


@dataclass(frozen=True)
class ImportLimits:
    upload_bytes: int
    unzipped_bytes: int
    zip_ratio: int
    rows: int
    columns: int
    cell_chars: int


def import_limits() -> ImportLimits:
    return ImportLimits(
        upload_bytes=settings.KEFU_IMPORT_MAX_UPLOAD_BYTES,
        unzipped_bytes=settings.KEFU_IMPORT_MAX_UNZIPPED_BYTES,
        zip_ratio=settings.KEFU_IMPORT_MAX_ZIP_RATIO,
        rows=settings.KEFU_IMPORT_MAX_ROWS,
        columns=settings.KEFU_IMPORT_MAX_COLUMNS,
        cell_chars=settings.KEFU_IMPORT_MAX_CELL_CHARS,
    )


def megabytes(size: int) -> str:
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size} bytes"


def too_large(name: str, size: int, limit: int) -> str:
    return gettext("%(file)s is %(size)s; the limit is %(limit)s") % {
        "file": name,
        "size": megabytes(size),
        "limit": megabytes(limit),
    }


def check_file_size(path: Path, limits: ImportLimits) -> None:
    size = path.stat().st_size
    if size > limits.upload_bytes:
        raise FileLimitError(too_large(path.name, size, limits.upload_bytes))


class UploadTooLarge(FileLimitError):
    """An upload past `upload_bytes`: refused while it is written (HTTP 413)."""


def store_upload(*, prefix: str, filename: str, data: Iterable[bytes]) -> tuple[Path, int]:
    """Write an upload's byte chunks to KEFU_DATA_DIR/imports under a new name (keeping the
    file's ending) and return the path and size; past the upload limit nothing is kept and
    UploadTooLarge says so with the seller's own file name. The caller deletes the copy."""
    limit = settings.KEFU_IMPORT_MAX_UPLOAD_BYTES
    folder = settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{prefix}-{uuid.uuid4().hex}{Path(filename).suffix.lower()[:8]}"
    size = 0
    try:
        with target.open("wb") as out:
            for chunk in data:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(too_large(filename, size, limit))
                out.write(chunk)
    except UploadTooLarge:
        target.unlink(missing_ok=True)
        raise
    return target, size


def too_many_rows(name: str, limit: int) -> str:
    return gettext("%(file)s has more than %(limit)s rows; split it into smaller files") % {
        "file": name,
        "limit": limit,
    }


def check_text_lines(path: Path, limits: ImportLimits) -> None:
    """A text file has at most `rows` lines besides the header (a record is at least a line)."""
    lines = 0
    last = b""
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            lines += block.count(b"\n")
            last = block
            if lines > limits.rows + 1:
                raise FileLimitError(too_many_rows(path.name, limits.rows))
    if last and not last.endswith(b"\n"):
        lines += 1
    if lines > limits.rows + 1:
        raise FileLimitError(too_many_rows(path.name, limits.rows))


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]+\d+:([A-Z]+)(\d+)\"")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def check_xlsx(path: Path, limits: ImportLimits, *, scan: bool = True) -> None:
    """Refuse a workbook whose parts would unzip past the limits, before openpyxl opens it.

    The sizes the ZIP directory declares are a bound that holds: Python's zipfile (which
    openpyxl reads through) never inflates a member past its declared size. Then the sheets
    and the shared strings are inflated block by block, without keeping them, to count rows
    and to find any run of text too long to be one cell: openpyxl builds every cell and the
    whole shared-string table in memory, so that is where a small file grows into gigabytes.
    `scan=False` checks the directory only (for the upload request: milliseconds).
    """
    bomb = gettext(
        "%(file)s unzips to far more data than a spreadsheet of its size holds; "
        "it is refused (open it in Excel and save it again)"
    ) % {"file": path.name}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > limits.unzipped_bytes:
                raise FileLimitError(
                    gettext("%(file)s unzips to %(size)s; the limit is %(limit)s")
                    % {
                        "file": path.name,
                        "size": megabytes(total),
                        "limit": megabytes(limits.unzipped_bytes),
                    }
                )
            for member in members:
                if member.file_size > BLOCK and (
                    member.file_size > limits.zip_ratio * max(member.compress_size, 1)
                ):
                    raise FileLimitError(bomb)
            for member in members if scan else ():
                name = member.filename
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    _scan_part(archive, member, limits, path.name, sheet=True)
                elif name == "xl/sharedStrings.xml":
                    _scan_part(archive, member, limits, path.name, sheet=False)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise FileLimitError(
            gettext("%(file)s is a ZIP file but not an Excel workbook") % {"file": path.name}
        ) from exc


def _scan_part(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    limits: ImportLimits,
    name: str,
    *,
    sheet: bool,
) -> None:
    # A cell's text cannot hold a raw "<": a stretch of `span` bytes without one is text (or an
    # attribute) longer than any cell may be, even at 4 bytes a character plus escapes.
    span = max(limits.cell_chars * 8, 4096)
    rows = 0
    tail = b""
    with archive.open(member) as part:
        first = True
        while block := part.read(span):
            if sheet and first:
                dimension = _DIMENSION.search(block)
                if dimension:
                    declared_rows = int(dimension.group(2))
                    declared_columns = _column_number(dimension.group(1))
                    if declared_rows > limits.rows + 1:
                        raise FileLimitError(too_many_rows(name, limits.rows))
                    if declared_columns > limits.columns:
                        raise FileLimitError(
                            gettext("%(file)s has %(n)s columns; the limit is %(limit)s")
                            % {"file": name, "n": declared_columns, "limit": limits.columns}
                        )
            first = False
            if len(block) == span and b"<" not in block:
                raise FileLimitError(
                    gettext("%(file)s holds a cell longer than %(limit)s characters")
                    % {"file": name, "limit": limits.cell_chars}
                )
            if sheet:
                # A tag cut by the block edge is counted in the joined edge instead.
                joined = tail + block
                rows += len(_ROW_TAG.findall(joined))
                tail = joined[-8:]
                rows -= len(_ROW_TAG.findall(tail))
                if rows > limits.rows + 1:
                    raise FileLimitError(too_many_rows(name, limits.rows))
