"""Column mappings for seller-centre order exports, and parsing one row into an `OrderInput`.

Headers match after folding width, case, punctuation, spaces and traditional/simplified
script, so 訂單編號, 订单编号 and "ORDER ID" all find their field. `--map` overrides win.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from kefu.core import tabular
from kefu.core.amounts import Amount, AmountError, parse_amount
from kefu.core.tabular import IGNORE, ColumnsError, HeaderIndex, header_key
from kefu.orders.inputs import ItemInput, OrderInput, ParcelInput
from kefu.orders.statuses import order_status

# Kefu field -> the headers that mean it. The first group of each list is the Taobao/Tmall
# seller-centre export (Appendix A); then AliExpress's English export; then generic names.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("订单编号", "订单号", "主订单编号", "Order ID", "Order No.", "Order Number"),
    "buyer_external_id": (
        "买家会员名",
        "买家昵称",
        "买家账号",
        "Buyer Login ID",
        "Buyer ID",
        "Buyer Account",
        "Buyer",
    ),
    "buyer_name": ("买家姓名", "Buyer Name", "Buyer Full Name"),
    "buyer_language": ("买家语言", "Buyer Language", "Language"),
    "goods_amount": (
        "买家应付货款",
        "商品总价",
        "Product Total",
        "Product Amount",
        "Goods Amount",
        "Subtotal",
    ),
    "shipping_fee": ("买家应付邮费", "运费", "Shipping Cost", "Shipping Fee", "Freight"),
    # A bare "amount" (the webhook's and many JSONL exports' name) is the order total.
    "total_amount": (
        "总金额",
        "订单金额",
        "Order Amount",
        "Order Total",
        "Total Amount",
        "Total",
        "amount",
    ),
    "paid_amount": (
        "买家实际支付金额",
        "实付金额",
        "Payment Amount",
        "Paid Amount",
        "Actual Payment",
        "Amount Paid",
    ),
    "refund_amount": ("退款金额", "Refund Amount", "Refunded Amount"),
    "currency": ("币种", "Currency"),
    "status": ("订单状态", "交易状态", "Order Status", "Status"),
    "buyer_message": (
        "买家留言",
        "Buyer Message",
        "Buyer Notes",
        "Order Notes",
        "Buyer Remark",
        "Buyer Remarks",
        "Order Remarks",
        "Order Remark",
    ),
    "seller_note": ("订单备注", "卖家备注", "Seller Note", "Seller Memo", "Memo"),
    "receiver_name": (
        "收货人姓名",
        "收货人",
        "Receiver Name",
        "Contact Name",
        "Consignee",
        "Recipient",
    ),
    "address": (
        "收货地址",
        "详细地址",
        "Address",
        "Shipping Address",
        "Detailed Address",
        "Full Address",
    ),
    "country": ("收货国家", "国家", "Country", "Ship To Country", "Destination Country"),
    "region": ("省份", "省", "Province", "State", "State/Province", "Region"),
    "shipping_method": (
        "运送方式",
        "配送方式",
        "Shipping Method",
        "Logistics Service",
        "Shipping Service",
    ),
    "phone": ("联系手机", "联系电话", "手机", "Phone", "Mobile", "Phone Number", "Contact Phone"),
    "placed_at": (
        "订单创建时间",
        "下单时间",
        "创建时间",
        "Order Time",
        "Order Date",
        "Created Time",
        "Order Created",
        "Creation Time",
    ),
    "paid_at": ("订单付款时间", "付款时间", "Payment Time", "Paid Time", "Payment Date"),
    "shipped_at": ("发货时间", "Shipping Time", "Shipped Time", "Ship Time"),
    "delivered_at": ("签收时间", "确认收货时间", "Delivered Time", "Received Time", "Receipt Time"),
    "closed_at": ("关闭时间", "交易关闭时间", "Close Time", "Closed Time"),
    "ship_by": ("最晚发货时间", "承诺发货时间", "Ship By", "Shipping Deadline", "Ship Before"),
    "item_title": (
        "宝贝标题",
        "商品标题",
        "商品名称",
        "Product Name",
        "Product Title",
        "Item Title",
        "Product",
        "Product Information",
        "Product Info",
    ),
    "quantity": ("宝贝总数量", "购买数量", "数量", "Quantity", "Qty", "Product Quantity"),
    "unit_price": ("单价", "价格", "Unit Price", "Product Price", "Price"),
    "product_external_id": ("商品ID", "宝贝ID", "商品编码", "Product ID", "Item ID", "SKU ID"),
    "item_sku": (
        "商家编码",
        "宝贝商家编码",
        "商品商家编码",
        "外部系统编号",
        "SKU Code",
        "Seller SKU",
        "SKU",
    ),
    "tracking_number": (
        "物流单号",
        "运单号",
        "快递单号",
        "Tracking Number",
        "Tracking No.",
        "Logistics Number",
        "Waybill Number",
    ),
    "carrier": (
        "物流公司",
        "快递公司",
        "Carrier",
        "Logistics Company",
        "Shipping Company",
        "Courier",
    ),
    "invoice_title": ("发票抬头", "Invoice Title", "Invoice"),
    "close_reason": ("订单关闭原因", "关闭原因", "Close Reason", "Cancel Reason"),
}
# Known export columns Kefu does not store (so they are not reported as unknown).
KNOWN_UNUSED = (
    "宝贝种类",
    "店铺名称",
    "店铺Id",
    "支付单号",
    "Store Name",
    "SKU Attributes",
    # AliExpress seller centre's export
    "Owner",
    "Payment Method",
    "Zip Code",
    "City",
    "Buyer Country",
)
# Fields an order cannot be filed without. A file without a buyer-account column but with a
# buyer-name column (the AliExpress seller centre's export has only "Buyer Name") keys the
# buyer by that name.
REQUIRED_FIELDS = ("external_id", "buyer_external_id")
FIELDS = tuple(COLUMN_ALIASES)
# Without one of these the orders import with amount 0 and the figures have no GMV.
AMOUNT_FIELDS = frozenset({"goods_amount", "total_amount", "paid_amount", "unit_price"})
# The fields of a JSONL object read besides the columns above.
JSONL_NESTED = ("items", "parcels", "buyer")


_HEADERS = HeaderIndex(COLUMN_ALIASES, KNOWN_UNUSED)
_ALIAS_INDEX = _HEADERS.by_key
_UNUSED = _HEADERS.unused
auto_field = _HEADERS.auto_field


_FIELD_LABELS = {f: f for f in FIELDS}


# The fields as the mapping form names them.
FIELD_LABELS = {
    "external_id": gettext_lazy("Order id"),
    "buyer_external_id": gettext_lazy("Buyer account"),
    "buyer_name": gettext_lazy("Buyer name"),
    "buyer_language": gettext_lazy("Buyer language"),
    "goods_amount": gettext_lazy("Goods amount"),
    "shipping_fee": gettext_lazy("Shipping fee"),
    "total_amount": gettext_lazy("Order total"),
    "paid_amount": gettext_lazy("Amount paid"),
    "refund_amount": gettext_lazy("Amount refunded"),
    "currency": gettext_lazy("Currency"),
    "status": gettext_lazy("Order status"),
    "buyer_message": gettext_lazy("Buyer's message"),
    "seller_note": gettext_lazy("Seller's note"),
    "receiver_name": gettext_lazy("Receiver"),
    "address": gettext_lazy("Address"),
    "country": gettext_lazy("Country"),
    "region": gettext_lazy("Province / state"),
    "shipping_method": gettext_lazy("Shipping method"),
    "phone": gettext_lazy("Phone"),
    "placed_at": gettext_lazy("Order time"),
    "paid_at": gettext_lazy("Payment time"),
    "shipped_at": gettext_lazy("Shipping time"),
    "delivered_at": gettext_lazy("Delivered at"),
    "closed_at": gettext_lazy("Closing time"),
    "ship_by": gettext_lazy("Ship by"),
    "item_title": gettext_lazy("Product title"),
    "quantity": gettext_lazy("Quantity"),
    "unit_price": gettext_lazy("Unit price"),
    "product_external_id": gettext_lazy("Product id"),
    "item_sku": gettext_lazy("SKU / 商家编码"),
    "tracking_number": gettext_lazy("Tracking number"),
    "carrier": gettext_lazy("Carrier"),
    "invoice_title": gettext_lazy("Invoice title"),
    "close_reason": gettext_lazy("Closing reason"),
}


class MappingError(ColumnsError):
    pass


def parse_map_option(value: str) -> dict[str, str]:
    """The CLI's `--map "col=field,col2=field2"`; field `-` ignores a column."""
    return tabular.parse_map_option(value, FIELDS, MappingError)


@dataclass
class ColumnMap:
    by_header: dict[str, str]  # header as in the file -> field
    unknown: list[str] = field(default_factory=list)
    # Every column not read, with why: not recognised, not stored, a second column, --map '-'
    ignored: list[tuple[str, str]] = field(default_factory=list)
    # No buyer-account column: the buyer is keyed by the buyer-name column.
    buyer_from_name: bool = False
    # field -> the name a rejection reason uses: the file's own header where it has one
    labels: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.labels = {**_FIELD_LABELS, **{f: h for h, f in self.by_header.items()}}

    def describe(self) -> str:
        return ", ".join(f"{h}->{f}" for h, f in self.by_header.items())


def build_column_map(headers: list[str], overrides: Mapping[str, str] | None = None) -> ColumnMap:
    overrides = {header_key(k): v for k, v in (overrides or {}).items()}
    mapped: dict[str, str] = {}
    taken: set[str] = set()
    unknown: list[str] = []
    ignored: list[tuple[str, str]] = []
    for header in headers:
        key = header_key(header)
        target = overrides.get(key) or _ALIAS_INDEX.get(key)
        if not key:
            continue
        if target == IGNORE:
            ignored.append((header, gettext("ignored by your column mapping")))
            continue
        if target is None and key in _UNUSED:
            ignored.append((header, gettext("not stored by Kefu")))
            continue
        if target is None:
            unknown.append(header)
            ignored.append((header, gettext("not recognised")))
            continue
        if target in taken:
            # A second column for the same field (e.g. 联系电话 after 联系手机).
            ignored.append(
                (
                    header,
                    gettext("%(field)s is read from another column")
                    % {"field": FIELD_LABELS.get(target, target)},
                )
            )
            continue
        mapped[header] = target
        taken.add(target)
    buyer_from_name = "buyer_external_id" not in taken and "buyer_name" in taken
    missing = [
        f
        for f in REQUIRED_FIELDS
        if f not in taken and not (f == "buyer_external_id" and buyer_from_name)
    ]
    if missing:
        names = {
            "external_id": gettext("order id (订单编号 / Order ID)"),
            "buyer_external_id": gettext("buyer (买家会员名 / Buyer Login ID / Buyer Name)"),
        }
        shown = ", ".join(h for h in headers[:12] if h) or "-"
        raise MappingError(
            gettext(
                "no column for the %(fields)s; headers found: %(headers)s. Choose which of "
                "your columns holds it."
            )
            % {"fields": gettext(" or ").join(names[m] for m in missing), "headers": shown},
            headers=[h for h in headers if h],
            missing=missing,
        )
    return ColumnMap(
        by_header=mapped, unknown=unknown, ignored=ignored, buyer_from_name=buyer_from_name
    )


# --- cell parsing ----------------------------------------------------------------------------

_NONE_WORDS = {"", "-", "--", "null", "none", "n/a", "无"}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%b %d, %Y %H:%M:%S",
    "%b %d, %Y %H:%M",
    "%b %d, %Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)


class RowError(ValueError):
    pass


def clean_text(value: Any) -> str:
    if type(value) is str:
        text = value.strip()
        if not text or text[0] not in "='":
            return text  # the common cell: nothing below would change it
    elif value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    # Seller centres protect long ids from Excel as ="123…", '123… or a leading tab.
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text.lstrip("'\t").strip()


def clean_id(value: Any, label: str, *, exact_numbers: bool = False) -> str:
    """An id cell as text. Spreadsheets keep 15 significant digits, so a 16-digit order id
    stored as a number has lost its last digits: reject it rather than file it wrongly.
    JSON numbers are exact (`exact_numbers`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not exact_numbers and abs(value) >= 1e15:
            raise RowError(
                gettext(
                    "%(column)s is stored as a number and may have lost digits; "
                    "format the column as text"
                )
                % {"column": label}
            )
        if isinstance(value, float) and value.is_integer():
            value = int(value)
    text = clean_text(value)
    if len(text) > 80:
        raise RowError(gettext("%(column)s is longer than 80 characters") % {"column": label})
    return text


def parse_money(value: Any, label: str, currency: str | None = None) -> Amount | None:
    """A money cell through the shared parser (kefu.core.amounts): its reason as a RowError."""
    try:
        return parse_amount(value, label, currency=currency)
    except AmountError as exc:
        raise RowError(str(exc)) from exc


def parse_time(value: Any, label: str, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """Naive times are the shop's local time (seller centres export local times)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.min, tzinfo=tz)
    text = clean_text(value)
    if text.lower() in _NONE_WORDS:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in _DATE_FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - zone applied below
                break
            except ValueError:
                continue
    if parsed is None:
        raise RowError(
            gettext("%(column)s: %(value)r is not a date and time")
            % {"column": label, "value": text}
        )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _not_a_quantity(label: str, text: str) -> str:
    return gettext("%(column)s: %(value)r is not a quantity") % {"column": label, "value": text}


def parse_quantity(value: Any, label: str) -> int | None:
    if value is None:
        return None
    text = clean_text(value).rstrip("件个pcs ").strip()
    if text.lower() in _NONE_WORDS:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise RowError(_not_a_quantity(label, text)) from exc
    if number != number.to_integral_value() or not 1 <= number <= 100_000:
        raise RowError(_not_a_quantity(label, text))
    return int(number)


_SPLIT = re.compile(r"[,;，；/\s]+")
# Taobao's export writes tracking numbers as "No:YT1234567890" (or with a full-width colon).
_TRACKING_PREFIX = re.compile(r"(?i)(?<![A-Za-z0-9])No\s*[:：]\s*")


def clean_tracking(value: Any) -> str:
    """A tracking-number cell without the "No:" prefix of Taobao exports."""
    return _TRACKING_PREFIX.sub(" ", clean_text(value)).strip()


@dataclass(frozen=True)
class RowContext:
    tz: zoneinfo.ZoneInfo
    default_currency: str


def record_to_input(
    record: Mapping[str, Any], columns: ColumnMap | None, *, row: int, ctx: RowContext
) -> OrderInput:
    """One export row (or one JSONL object) as an `OrderInput`; RowError says what is wrong."""
    if columns is None:
        values = _jsonl_values(record)
    else:
        values = {columns.by_header[h]: v for h, v in record.items() if h in columns.by_header}
    labels = _FIELD_LABELS if columns is None else columns.labels

    exact = columns is None  # JSONL
    external_id = clean_id(values.get("external_id"), labels["external_id"], exact_numbers=exact)
    if not external_id:
        raise RowError(gettext("%(column)s is empty") % {"column": labels["external_id"]})
    buyer_field = (
        "buyer_name" if columns is not None and columns.buyer_from_name else ("buyer_external_id")
    )
    buyer_id = clean_id(values.get(buyer_field), labels[buyer_field], exact_numbers=exact)
    if not buyer_id:
        raise RowError(gettext("%(column)s is empty") % {"column": labels[buyer_field]})
    status = clean_text(values.get("status"))
    if status and order_status(status) is None:
        raise RowError(gettext("unknown order status %(value)r") % {"value": status})

    money: dict[str, Decimal | None] = {}
    currency = clean_text(values.get("currency")).upper() or None
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise RowError(
            gettext("%(column)s: %(value)r is not a currency code")
            % {"column": labels["currency"], "value": currency}
        )
    for name in (
        "goods_amount",
        "shipping_fee",
        "total_amount",
        "paid_amount",
        "refund_amount",
        "unit_price",
    ):
        # A sign or code in a cell must agree with the currency column, or with the first
        # sign the row showed: "15,34 €" beside a USD total is refused, not summed.
        amount = parse_money(values.get(name), labels.get(name, name), currency)
        money[name] = amount.value if amount else None
        if amount is not None and amount.currency and currency is None:
            currency = amount.currency

    times = {
        name: parse_time(values.get(name), labels[name], ctx.tz)
        for name in ("placed_at", "paid_at", "shipped_at", "delivered_at", "closed_at", "ship_by")
    }
    quantity = parse_quantity(values.get("quantity"), labels["quantity"])

    items: list[ItemInput] = []
    if columns is None and isinstance(record.get("items"), list):
        items = [_jsonl_item(i, n) for n, i in enumerate(record["items"], start=1)]
    else:
        title = clean_text(values.get("item_title"))
        product_id = clean_id(values.get("product_external_id"), labels["product_external_id"])
        sku = clean_id(values.get("item_sku"), labels["item_sku"])[:80]
        if title or product_id or sku:
            qty = quantity or 1
            price = money["unit_price"]
            if price is None and money["goods_amount"] is not None:
                price = (money["goods_amount"] / qty).quantize(Decimal("0.01"))
            items.append(
                ItemInput(
                    title=title[:300],
                    quantity=qty,
                    unit_price=price,
                    product_external_id=product_id,
                    sku=sku,
                )
            )

    parcels: list[ParcelInput] = []
    if columns is None and isinstance(record.get("parcels"), list):
        for p in record["parcels"]:
            if not isinstance(p, dict) or not clean_tracking(p.get("tracking_number")):
                raise RowError(gettext("each parcel needs a tracking_number"))
            parcels.append(
                ParcelInput(
                    clean_tracking(p["tracking_number"])[:80], clean_text(p.get("carrier"))[:80]
                )
            )
    else:
        numbers = [n for n in _SPLIT.split(clean_tracking(values.get("tracking_number"))) if n]
        carriers = [
            c for c in re.split(r"[,;，；/]+", clean_text(values.get("carrier"))) if c.strip()
        ]
        for index, number in enumerate(numbers):
            carrier = (
                carriers[index] if index < len(carriers) else (carriers[0] if carriers else "")
            )
            parcels.append(ParcelInput(number[:80], carrier.strip()[:80]))

    def text(name: str) -> str | None:
        if name not in values:
            return None
        return clean_text(values[name])

    country = text("country")
    buyer_country = (country or "").upper() if country and len(country) == 2 else ""
    return OrderInput(
        external_id=external_id,
        buyer_external_id=buyer_id,
        row=row,
        buyer_name=clean_text(values.get("buyer_name")),
        buyer_language=clean_text(values.get("buyer_language"))[:10],
        buyer_country=buyer_country,
        status=status,
        currency=currency,
        goods_amount=money["goods_amount"],
        shipping_fee=money["shipping_fee"],
        total_amount=money["total_amount"],
        paid_amount=money["paid_amount"],
        refund_amount=money["refund_amount"],
        buyer_message=text("buyer_message"),
        seller_note=text("seller_note"),
        receiver_name=text("receiver_name"),
        phone=text("phone"),
        address=text("address"),
        country=country,
        region=text("region"),
        shipping_method=text("shipping_method"),
        invoice_title=text("invoice_title"),
        close_reason=text("close_reason"),
        items=tuple(items),
        parcels=tuple(parcels),
        placed_at=times["placed_at"],
        paid_at=times["paid_at"],
        shipped_at=times["shipped_at"],
        delivered_at=times["delivered_at"],
        closed_at=times["closed_at"],
        ship_by=times["ship_by"],
    )


def jsonl_fields(record: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    """The Kefu fields a JSONL object gives a value, and the keys the import ignores."""
    if "__headers__" in record:
        return set(), []
    found = {f for f, v in _jsonl_values(record).items() if v not in (None, "")}
    items = record.get("items")
    if isinstance(items, list) and any(
        isinstance(i, dict) and i.get("unit_price") not in (None, "") for i in items
    ):
        found.add("unit_price")
    if isinstance(record.get("parcels"), list) and record["parcels"]:
        found.add("tracking_number")
    ignored = [
        k for k in record if k not in JSONL_NESTED and _ALIAS_INDEX.get(header_key(str(k))) is None
    ]
    return found, ignored


def _jsonl_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """A JSONL object: Kefu field names or any known header; `buyer` may be an object."""
    values: dict[str, Any] = {}
    for key, value in record.items():
        if key in ("items", "parcels"):
            continue
        if key == "buyer" and isinstance(value, dict):
            values.setdefault("buyer_external_id", value.get("external_id"))
            values.setdefault("buyer_name", value.get("name"))
            values.setdefault("buyer_language", value.get("language"))
            continue
        target = _ALIAS_INDEX.get(header_key(key))
        if target is not None:
            values.setdefault(target, value)
    return values


def _jsonl_item(item: Any, n: int) -> ItemInput:
    if not isinstance(item, dict):
        raise RowError(gettext("item %(n)s is not an object") % {"n": n})
    title = clean_text(item.get("title"))
    product_id = clean_id(item.get("product_external_id"), f"item {n} product_external_id")
    sku = clean_id(item.get("sku"), f"item {n} sku")[:80]
    if not title and not product_id and not sku:
        raise RowError(
            gettext("item %(n)s needs a title, a product_external_id or a sku") % {"n": n}
        )
    price = parse_money(item.get("unit_price"), f"item {n} unit_price")
    return ItemInput(
        title=title[:300],
        quantity=parse_quantity(item.get("quantity"), f"item {n} quantity") or 1,
        unit_price=price.value if price else None,
        product_external_id=product_id,
        sku=sku,
    )
