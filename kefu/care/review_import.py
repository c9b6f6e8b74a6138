"""Review files into Kefu (R-43): the seller centre's review export — Taobao/Tmall (评价管理,
Chinese headers, GBK CSV or XLSX) or AliExpress (Feedback, English headers) — or any CSV/XLSX
with `--map`.

Rows stream through `kefu.core.tabular` (the order and product importers' readers and limits);
each row is stored by `store_review` and ends in exactly one count (created, updated,
unchanged or rejected with its row number and reason). A file the importer cannot use as a
whole (not a spreadsheet, no time column, no review or order number) is refused before
anything is stored. Importing the same file again changes nothing.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.care.models import ReviewSource
from kefu.care.reviews import ReviewInput, parse_rating, store_review
from kefu.catalog.column_mappings import remember_mapping, remembered_mapping
from kefu.catalog.models import ImportKind
from kefu.core import tabular
from kefu.core.filelimits import store_upload
from kefu.core.tabular import (
    IGNORE,
    ColumnsError,
    HeaderIndex,
    ImportFileError,
    RowTally,
    open_source,
)
from kefu.orders.importers.mapping import RowError, parse_time

log = logging.getLogger("kefu.care")


# Kefu field -> headers of the exports (淘宝/天猫 评价管理, AliExpress Feedback).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("评价ID", "评价编号", "评论ID", "Review ID", "Feedback ID", "Evaluation ID"),
    "order_external_id": (
        "订单编号",
        "订单号",
        "子订单编号",
        "Order ID",
        "Order No",
        "Order Number",
    ),
    "product_external_id": ("宝贝ID", "商品ID", "Product ID", "Item ID"),
    "rating": ("评分", "星级", "分数", "商品评分", "Rating", "Score", "Stars", "Star Rating"),
    "level_label": ("评价", "评价类型", "评价结果", "Feedback Type", "Review Type", "Sentiment"),
    "text": ("评价内容", "评论内容", "初评内容", "Review", "Review Content", "Feedback", "Comment"),
    "posted_at": ("评价时间", "评论时间", "初评时间", "Review Time", "Feedback Date", "Date"),
    "buyer_name": ("买家昵称", "评价人", "会员名", "Buyer", "Buyer Name"),
}
FIELDS = tuple(COLUMN_ALIASES)
KNOWN_UNUSED = (
    "宝贝名称",
    "商品标题",
    "宝贝链接",
    "追评内容",
    "追评时间",
    "卖家回复",
    "回复内容",
    "图片",
    "Product Name",
    "Product Title",
    "Reply",
    "Seller Reply",
    "Images",
    "Country",
    "SKU",
)
_HEADERS = HeaderIndex(COLUMN_ALIASES, KNOWN_UNUSED)
auto_field = _HEADERS.auto_field

# The fields as the upload page's mapping form names them.
FIELD_LABELS = {
    "external_id": gettext_lazy("Review id"),
    "order_external_id": gettext_lazy("Order number"),
    "product_external_id": gettext_lazy("Product id"),
    "rating": gettext_lazy("Score"),
    "level_label": gettext_lazy("Level (好评/中评/差评)"),
    "text": gettext_lazy("Review text"),
    "posted_at": gettext_lazy("Review time"),
    "buyer_name": gettext_lazy("Buyer name"),
}


class ReviewFileError(ColumnsError):
    """The file as a whole cannot be imported as reviews (one clear sentence)."""


def parse_map_option(value: str) -> dict[str, str]:
    """The CLI's `--map "col=field,col2=field2"`; field `-` ignores a column."""
    return tabular.parse_map_option(value, FIELDS, ReviewFileError)


def build_columns(
    headers: Sequence[str],
    overrides: dict[str, str] | None,
    remembered: dict[str, str] | None = None,
) -> dict[str, str]:
    """{header: field} for the file; refuses a file without the columns a review needs.
    `overrides` (this file's mapping) must name columns the file has; `remembered` (the
    shop's saved mapping) applies to the headers the file has and loses to `overrides`."""
    overrides = overrides or {}
    chosen = {**(remembered or {}), **overrides}
    present = [h for h in headers if h]
    missing_columns = [c for c in overrides if c not in present]
    if missing_columns:
        raise ReviewFileError(
            gettext("the column mapping names columns the file does not have: %(columns)s")
            % {"columns": ", ".join(missing_columns)},
            headers=present,
        )
    by_header: dict[str, str] = {}
    for header in present:
        target = chosen.get(header) or auto_field(header)
        if target and target != IGNORE and target not in by_header.values():
            by_header[header] = target
    taken = set(by_header.values())
    if "posted_at" not in taken:
        raise ReviewFileError(
            gettext("no review time column (评价时间, Review Time …)"),
            headers=present,
            missing=["posted_at"],
        )
    if not taken & {"external_id", "order_external_id"}:
        raise ReviewFileError(
            gettext("no review id and no order number column (评价ID, 订单编号, Order ID …)"),
            headers=present,
            missing=["order_external_id"],
        )
    if not taken & {"rating", "level_label"}:
        raise ReviewFileError(
            gettext("no score and no level column (评分, 评价, Rating …)"),
            headers=present,
            missing=["rating"],
        )
    return by_header


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def record_to_input(
    record: dict[str, Any], columns: dict[str, str], tz: zoneinfo.ZoneInfo
) -> ReviewInput:
    values = {columns[h]: v for h, v in record.items() if h in columns}
    order = _text(values.get("order_external_id"))
    product = _text(values.get("product_external_id"))
    external_id = _text(values.get("external_id")) or (
        f"order:{order}:{product or '-'}" if order else ""
    )
    if not external_id:
        raise RowError(gettext("no review id and no order number"))
    posted_at = parse_time(values.get("posted_at"), gettext("review time"), tz)
    if posted_at is None:
        raise RowError(gettext("no review time"))
    try:
        rating = parse_rating(values.get("rating"))
    except ValidationError as exc:
        raise RowError("; ".join(exc.messages)) from exc
    return ReviewInput(
        external_id=external_id,
        posted_at=posted_at,
        rating=rating,
        level_label=_text(values.get("level_label")),
        text=_text(values.get("text")),
        order_external_id=order,
        product_external_id=product,
        buyer_name=_text(values.get("buyer_name")),
    )


@dataclass
class ReviewImportSummary(RowTally):
    tasks: int = 0
    headers: list[str] = field(default_factory=list)


def import_reviews(
    *,
    shop: Shop,
    path: Any,
    file_format: str | None = None,
    overrides: dict[str, str] | None = None,
    remembered: dict[str, str] | None = None,
) -> ReviewImportSummary:
    """Import a review file row by row. Raises `ImportFileError` or `ReviewFileError` when the
    file as a whole cannot be used; nothing is stored then."""
    src = open_source(Path(path), wanted_format=file_format)
    summary = ReviewImportSummary(file_format=src.file_format, encoding=src.encoding)
    tz = zoneinfo.ZoneInfo(shop.timezone)
    columns: dict[str, str] = {}
    assert src.rows is not None  # noqa: S101 - open_source sets it
    for row, record, problem in src.rows:
        if record is not None and "__headers__" in record:
            headers = [h for h in record["__headers__"] if h]
            columns = build_columns(headers, overrides, remembered)
            summary.headers = headers
            decided = {**(remembered or {}), **(overrides or {})}
            summary.unknown_columns = [
                h for h in headers if auto_field(h) is None and h not in decided
            ]
            continue
        summary.rows += 1
        if record is None:
            summary.reject(row, problem)
            continue
        try:
            stored = store_review(
                shop=shop,
                data=record_to_input(record, columns, tz),
                source=ReviewSource.IMPORT,
            )
        except RowError as exc:
            summary.reject(row, str(exc))
            continue
        except ValidationError as exc:
            summary.reject(row, "; ".join(exc.messages))
            continue
        if stored.created:
            summary.created += 1
            summary.tasks += hasattr(stored.review, "task")
        elif stored.changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
    log.info(
        "reviews_imported shop=%s rows=%s created=%s updated=%s rejected=%s",
        shop.pk,
        summary.rows,
        summary.created,
        summary.updated,
        summary.rejected,
    )
    return summary


def import_uploaded_reviews(
    *,
    actor: User,
    filename: str,
    data: Iterable[bytes],
    mapping: dict[str, str] | None = None,
) -> ReviewImportSummary:
    """The upload page: the file is copied under KEFU_DATA_DIR/imports, imported while the
    page waits (review exports are small) and deleted. Raises UploadTooLarge, ImportFileError
    or ReviewFileError (the file as a whole, with its headers for the mapping form); nothing
    is stored then. The shop's remembered review column mapping applies; `mapping` (the
    page's mapping form) wins over it and is remembered once the file's columns are accepted."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    target, _size = store_upload(prefix=f"reviews-{shop.pk}", filename=filename, data=data)
    try:
        summary = import_reviews(
            shop=shop,
            path=target,
            overrides=mapping,
            remembered=remembered_mapping(shop, ImportKind.REVIEWS),
        )
    except (ImportFileError, ReviewFileError) as exc:
        # The seller knows the file by its own name, not by the stored copy's.
        raise ReviewFileError(
            str(exc).replace(target.name, filename),
            headers=getattr(exc, "headers", ()),
            missing=getattr(exc, "missing", ()),
        ) from exc
    finally:
        target.unlink(missing_ok=True)
    # A mapping under which every row was refused (a text column mapped as the time …) is not
    # remembered: nothing of that upload is kept, the mapping included.
    if mapping and not (summary.rows and summary.rejected == summary.rows):
        remember_mapping(actor=actor, kind=ImportKind.REVIEWS, mapping=mapping)
    return summary
