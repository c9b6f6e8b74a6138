"""Product files into the catalogue: the Taobao/Tmall product export (淘宝助理-style CSV, GBK),
an AliExpress product list (English headers), any CSV/XLSX with `--map`, and JSONL.

Rows stream through `kefu.core.tabular` (the order importers' readers and limits) and are
stored in chunks by `upsert_products`; each row ends in exactly one count (created, updated,
unchanged or rejected with its row number and reason). A file the importer cannot use as a
whole (not a spreadsheet, no title column) is refused before anything is stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.catalog.column_mappings import remember_mapping, remembered_mapping
from kefu.catalog.models import ImportKind
from kefu.catalog.upserts import CHUNK, ProductInput, upsert_products
from kefu.core import tabular
from kefu.core.amounts import AmountError, parse_amount
from kefu.core.filelimits import UploadTooLarge, store_upload
from kefu.core.tabular import (
    IGNORE,
    ColumnsError,
    HeaderIndex,
    ImportFileError,
    Record,
    RowTally,
    header_key,
    open_source,
)

log = logging.getLogger("kefu.catalog")


# Kefu field -> headers seen in exports (Taobao/Tmall 淘宝助理 names, its English field names,
# AliExpress product list headers). Matching ignores case, spaces and punctuation.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": (
        "宝贝ID",
        "数字ID",
        "商品ID",
        "num_id",
        "Product ID",
        "Item ID",
        "ProductId",
        "id",
    ),
    "sku": ("商家编码", "宝贝商家编码", "outer_id", "SKU code", "Seller SKU", "SKU", "SKU编码"),
    "title": (
        "宝贝名称",
        "宝贝标题",
        "商品标题",
        "商品名称",
        "Title",
        "Product Name",
        "Product Title",
        "Subject",
    ),
    # The seller's own label; 宝贝类目 (淘宝助理's numeric category id) is not it.
    "category": (
        "类目",
        "分类",
        "商品分类",
        "商品类目",
        "Category",
        "Product Category",
        "Категория",
        "Categoría",
    ),
    "price": ("宝贝价格", "一口价", "价格", "Price", "Retail Price", "Sale Price"),
    "currency": ("币种", "Currency"),
    "stock": ("宝贝数量", "库存", "num", "Stock", "Quantity", "Inventory", "Available Stock"),
    "url": ("宝贝链接", "商品链接", "Product URL", "Product Link", "URL", "Link"),
    "image_url": (
        "宝贝图片",
        "主图",
        "图片",
        "picture",
        "Image URL",
        "Main Image",
        "Image",
        "Product Image",
    ),
    "free_shipping": ("运费承担", "包邮", "freight_payer", "Free Shipping"),
    "free_shipping_excluded_regions": (
        "不包邮地区",
        "包邮除外地区",
        "Excluded Regions",
        "Free Shipping Excluded Regions",
    ),
    "owner_login": ("owner", "负责客服", "客服", "Owner Login"),
    "is_main_push": ("主推", "主推款", "Main Push"),
    "usage_cycle_days": ("使用周期", "使用周期天", "Usage Cycle", "Usage Cycle Days"),
    "related_external_ids": ("相关商品", "关联商品", "Related Products", "Related"),
    "shelf_life": ("保质期", "Shelf Life"),
    "suits": ("适用人群", "Suits", "Who It Suits"),
    "ships_from": ("发货地", "Ships From"),
    "dispatch_time": ("发货时间", "Dispatch Time"),
    "differences": ("与同类区别", "区别", "Differences"),
}
FIELDS = tuple(COLUMN_ALIASES)
# Columns of the exports Kefu knows and does not keep: not reported as ignored.
KNOWN_UNUSED = (
    "宝贝类目",
    "店铺类目",
    "新旧程度",
    "省",
    "城市",
    "出售方式",
    "加价幅度",
    "有效期",
    "平邮",
    "EMS",
    "快递",
    "发票",
    "保修",
    "放入仓库",
    "橱窗推荐",
    "开始时间",
    "心情故事",
    "宝贝描述",
    "宝贝属性",
    "邮费模版ID",
    "会员打折",
    "修改时间",
    "上传状态",
    "图片状态",
    "返点比例",
    "销售属性组合",
    "销售属性别名",
    "Status",
    "Description",
)


_HEADERS = HeaderIndex(COLUMN_ALIASES, KNOWN_UNUSED)
_ALIAS_INDEX = _HEADERS.by_key
_UNUSED = _HEADERS.unused
auto_field = _HEADERS.auto_field
_FIELD_LABELS = {f: f for f in FIELDS}
_TITLE_HEADERS = {header_key(a) for a in ("title", *COLUMN_ALIASES["title"])}


# The fields as the mapping form names them.
FIELD_LABELS = {
    "external_id": gettext_lazy("Platform product id"),
    "sku": gettext_lazy("SKU / 商家编码"),
    "title": gettext_lazy("Title"),
    "category": gettext_lazy("Category"),
    "price": gettext_lazy("Price"),
    "currency": gettext_lazy("Currency"),
    "stock": gettext_lazy("Stock"),
    "url": gettext_lazy("Web link"),
    "image_url": gettext_lazy("Main image"),
    "free_shipping": gettext_lazy("Free shipping"),
    "free_shipping_excluded_regions": gettext_lazy("Regions without free shipping"),
    "owner_login": gettext_lazy("Sub-account (login)"),
    "is_main_push": gettext_lazy("Main push"),
    "usage_cycle_days": gettext_lazy("Usage cycle (days)"),
    "related_external_ids": gettext_lazy("Related products"),
    "shelf_life": gettext_lazy("Shelf life"),
    "suits": gettext_lazy("Who it suits"),
    "ships_from": gettext_lazy("Ships from"),
    "dispatch_time": gettext_lazy("Dispatch time"),
    "differences": gettext_lazy("How it differs from similar products"),
}


class ProductFileError(ColumnsError):
    """The file as a whole cannot be imported as products (one clear sentence)."""


def parse_map_option(value: str) -> dict[str, str]:
    """The CLI's `--map "col=field,col2=field2"`; field `-` ignores a column."""
    return tabular.parse_map_option(value, FIELDS, ProductFileError)


@dataclass
class Columns:
    by_header: dict[str, str]  # header as in the file -> field
    unknown: list[str] = field(default_factory=list)
    # field -> the name a rejection reason uses: the file's own header where it has one
    labels: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.labels = {**_FIELD_LABELS, **{f: h for h, f in self.by_header.items()}}


def build_columns(
    headers: Sequence[str],
    overrides: dict[str, str] | None,
    remembered: dict[str, str] | None = None,
) -> Columns:
    """The file's columns mapped to fields: `overrides` (the seller's mapping for this file)
    must name columns the file has; `remembered` (the shop's saved mapping) applies where it
    does."""
    overrides = overrides or {}
    chosen = {**(remembered or {}), **overrides}
    by_header: dict[str, str] = {}
    unknown: list[str] = []
    taken: set[str] = set()
    for header in headers:
        if not header:
            continue
        target = chosen.get(header) or _ALIAS_INDEX.get(header_key(header))
        if target == IGNORE:
            continue
        if target is None or target in taken:
            if header_key(header) not in _UNUSED:
                unknown.append(header)
            continue
        by_header[header] = target
        taken.add(target)
    present = [h for h in headers if h]
    missing_columns = [c for c in overrides if c not in headers]
    if missing_columns:
        raise ProductFileError(
            gettext("the column mapping names columns the file does not have: %(columns)s")
            % {"columns": ", ".join(missing_columns)},
            headers=present,
        )
    if "title" not in taken:
        raise ProductFileError(
            gettext(
                "no title column (宝贝名称, Title, Product Name …); choose which of your "
                "columns holds the title"
            ),
            headers=present,
            missing=["title"],
        )
    if "external_id" not in taken and "sku" not in taken:
        raise ProductFileError(
            gettext(
                "no product id column (宝贝ID, 数字ID, Product ID …) and no 商家编码/SKU column; "
                "choose which of your columns holds the product id"
            ),
            headers=present,
            missing=["external_id"],
        )
    return Columns(by_header=by_header, unknown=unknown)


class RowError(ValueError):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _cell(values: dict[str, Any], name: str) -> str | None:
    """The cell's text, or None when the file has no such column or leaves the cell empty
    (the stored value is kept)."""
    if name not in values:
        return None
    text = _text(values[name])
    return text or None


_YES = {"1", "yes", "y", "true", "是", "包邮", "卖家承担", "卖家", "seller", "free"}
_NO = {"0", "2", "no", "n", "false", "否", "不包邮", "买家承担", "买家", "buyer"}
_SPLIT = re.compile(r"[,，;；、|/\n]+")


def _flag(text: str | None, label: str) -> bool | None:
    if text is None:
        return None
    folded = text.strip().lower()
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise RowError(
        gettext("%(column)s: %(value)r is not yes or no") % {"column": label, "value": text}
    )


def _whole(text: str | None, label: str) -> int | None:
    if text is None:
        return None
    try:
        number = Decimal(text.replace(",", ""))
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise RowError(
            gettext("%(column)s: %(value)r is not a whole number")
            % {"column": label, "value": text}
        )
    return int(number)


# 淘宝助理 names each picture by the hash of a file on the seller's computer: "hash:1:0:|;".
_LOCAL_PICTURE = re.compile(r"^[0-9a-fA-F]{16,}:\d+:\d+:")


def _image(text: str | None) -> tuple[str | None, str]:
    """The main image (the first of several) and a note when the cell names no web image."""
    if text is None:
        return None, ""
    match = re.search(r"https?://[^\s;|,]+", text)
    if match:
        return match.group(0), ""
    if _LOCAL_PICTURE.match(text.strip()):
        return None, gettext(
            "the picture is a file on the computer that exported it (淘宝助理), not a web "
            "address: the product is stored without an image"
        )
    return text.strip(), ""  # upsert_products rejects it with its reason


def record_to_input(
    record: Record, columns: Columns | None, *, row: int, notes: list[tuple[int, str]]
) -> ProductInput:
    """One row (or JSONL object) as a ProductInput; RowError names the bad cell. What the
    row's product is stored without is appended to `notes`."""
    if columns is None:
        values: dict[str, Any] = {}
        for key, value in record.items():
            target = _ALIAS_INDEX.get(header_key(str(key)))
            if target is not None:
                values.setdefault(target, value)
        labels = _FIELD_LABELS
    else:
        by_header = columns.by_header
        values = {by_header[h]: v for h, v in record.items() if h in by_header}
        labels = columns.labels

    external_id = _cell(values, "external_id")
    sku = _cell(values, "sku")
    if external_id is None and sku is None:
        raise RowError(gettext("no product id and no 商家编码/SKU"))
    title = _cell(values, "title")
    currency = _cell(values, "currency")
    try:
        amount = parse_amount(values.get("price"), labels["price"], currency=currency)
    except AmountError as exc:
        raise RowError(str(exc)) from exc
    price = amount.value if amount else None
    if currency is None and amount is not None:
        currency = amount.currency  # "$12.50" with no currency column: the sign says it
    stock_text = _cell(values, "stock")
    stock = _whole(stock_text, labels["stock"])

    def listing(name: str) -> tuple[str, ...] | None:
        raw = values.get(name)
        if isinstance(raw, list):
            return tuple(_text(v) for v in raw if _text(v))
        text = _cell(values, name)
        return None if text is None else tuple(p.strip() for p in _SPLIT.split(text) if p.strip())

    image, image_note = _image(_cell(values, "image_url"))
    if image_note:
        notes.append((row, image_note))
    regions = listing("free_shipping_excluded_regions")
    related = listing("related_external_ids")
    free_shipping_raw = values.get("free_shipping")
    free_shipping = (
        free_shipping_raw
        if isinstance(free_shipping_raw, bool)
        else _flag(_cell(values, "free_shipping"), labels["free_shipping"])
    )
    main_push_raw = values.get("is_main_push")
    is_main_push = (
        main_push_raw
        if isinstance(main_push_raw, bool)
        else _flag(_cell(values, "is_main_push"), labels["is_main_push"])
    )
    return ProductInput(
        # Files without a product id (many ERP exports) are keyed by the seller's code.
        external_id=(external_id or sku or "")[:81],
        row=row,
        sku=sku,
        title=title,
        category=_cell(values, "category"),
        price=price,
        currency=currency,
        stock=stock,
        url=_cell(values, "url"),
        image_url=image,
        owner_login=_cell(values, "owner_login"),
        is_main_push=is_main_push,
        free_shipping=free_shipping,
        free_shipping_excluded_regions=regions,
        usage_cycle_days=_whole(_cell(values, "usage_cycle_days"), labels["usage_cycle_days"]),
        related_external_ids=related,
        shelf_life=_cell(values, "shelf_life"),
        suits=_cell(values, "suits"),
        ships_from=_cell(values, "ships_from"),
        dispatch_time=_cell(values, "dispatch_time"),
        differences=_cell(values, "differences"),
    )


@dataclass
class ProductImportSummary(RowTally):
    notes: list[tuple[int, str]] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)


ProgressCallback = Callable[[int, int, ProductImportSummary], None]


def import_products(
    *,
    shop: Shop,
    path: Any,
    file_format: str | None = None,
    overrides: dict[str, str] | None = None,
    remembered: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
    source: str = "import",
) -> ProductImportSummary:
    """Import a product file, streaming in chunks (one transaction each).

    Raises `ImportFileError` (kefu.core.tabular) or `ProductFileError` when the file as a
    whole cannot be used; nothing is stored then. Related products are set after the last
    chunk, so a row may name a product further down the file.
    """
    src = open_source(Path(path), wanted_format=file_format)
    summary = ProductImportSummary(file_format=src.file_format, encoding=src.encoding)
    columns: Columns | None = None
    pending: list[ProductInput] = []
    related: list[ProductInput] = []
    assert src.rows is not None  # noqa: S101 - open_source sets it

    def flush() -> None:
        if not pending:
            return
        for out in upsert_products(shop=shop, inputs=pending, source=source):
            if out.outcome == "rejected":
                summary.reject(out.row or 0, out.reason)
            elif out.outcome == "created":
                summary.created += 1
            elif out.outcome == "updated":
                summary.updated += 1
            else:
                summary.unchanged += 1
            if out.outcome != "rejected" and out.row in wanted_related:
                related.append(wanted_related.pop(out.row))
        pending.clear()
        if progress is not None:
            progress(src.progress.done, src.progress.total, summary)

    wanted_related: dict[int | None, ProductInput] = {}
    for row, record, problem in src.rows:
        if record is not None and "__headers__" in record:
            summary.headers = [h for h in record["__headers__"] if h]
            columns = build_columns(record["__headers__"], overrides, remembered)
            summary.unknown_columns = columns.unknown
            summary.columns = dict(columns.by_header)
            continue
        if record is None:
            summary.rows += 1
            summary.reject(row, problem)
            continue
        if columns is not None and not summary.rows and _is_second_header(record, columns):
            # 淘宝助理 writes its English field names, then the Chinese ones, as two rows.
            continue
        summary.rows += 1
        try:
            inp = record_to_input(record, columns, row=row, notes=summary.notes)
        except RowError as exc:
            summary.reject(row, str(exc))
            continue
        if inp.related_external_ids is not None:
            wanted_related[row] = ProductInput(
                external_id=inp.external_id, row=row, related_external_ids=inp.related_external_ids
            )
            inp = _without_related(inp)
        pending.append(inp)
        if len(pending) >= CHUNK:
            flush()
    flush()
    if related:
        for out in upsert_products(shop=shop, inputs=related, source=source):
            for note in out.notes:
                summary.notes.append((out.row or 0, note))
    if progress is not None:
        progress(src.progress.total, src.progress.total, summary)
    log.info(
        "products_imported shop=%s format=%s rows=%s created=%s updated=%s unchanged=%s "
        "rejected=%s",
        shop.pk,
        summary.file_format,
        summary.rows,
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.rejected,
    )
    return summary


def _is_second_header(record: Record, columns: Columns) -> bool:
    for header, target in columns.by_header.items():
        if target == "title":
            return header_key(_text(record.get(header))) in _TITLE_HEADERS
    return False


def _without_related(inp: ProductInput) -> ProductInput:
    return replace(inp, related_external_ids=None)


class UploadRefused(Exception):
    """The upload is not taken (nothing is stored): `status` is the HTTP answer for it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def import_uploaded_products(
    *, actor: User, filename: str, data: Iterable[bytes], mapping: dict[str, str] | None = None
) -> ProductImportSummary:
    """An owner's (or a settings-granted sub-account's) upload of a product file, imported
    while the page waits: product files are small beside order exports (a shop's catalogue,
    not its history), and 100k rows import in seconds (docs/benchmarks.md).

    `data` is an iterable of byte chunks; the copy under KEFU_DATA_DIR/imports is deleted
    afterwards. Raises UploadRefused (too large), ImportFileError or ProductFileError (the
    file as a whole); nothing is stored then. The shop's remembered column mapping applies;
    `mapping` (the page's mapping form) wins over it and is remembered once the file's
    columns are accepted.
    """
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    try:
        target, _size = store_upload(prefix=f"products-{shop.pk}", filename=filename, data=data)
    except UploadTooLarge as exc:
        raise UploadRefused(str(exc), status=413) from exc
    try:
        summary = import_products(
            shop=shop,
            path=target,
            overrides=mapping,
            remembered=remembered_mapping(shop, ImportKind.PRODUCTS),
        )
    except (ImportFileError, ProductFileError) as exc:
        # The seller knows the file by its own name, not by the stored copy's.
        raise ProductFileError(
            str(exc).replace(target.name, filename),
            headers=getattr(exc, "headers", ()),
            missing=getattr(exc, "missing", ()),
        ) from exc
    finally:
        target.unlink(missing_ok=True)
    if mapping:
        remember_mapping(actor=actor, kind=ImportKind.PRODUCTS, mapping=mapping)
    return summary
