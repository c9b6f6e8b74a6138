"""Marketplace order statuses and carrier tracking statuses mapped onto Kefu's vocabulary.

Sources: requirements Appendix A (AliExpress and Taobao/Tmall open-platform statuses, the
Chinese phrases of the seller-centre export, the multi-carrier trackers' vocabulary).
Matching ignores case, width, punctuation, spaces and traditional/simplified script.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from kefu.core.textnorm import normalize
from kefu.orders.models import OrderFlag, OrderStatus, TrackingStatus


@dataclass(frozen=True)
class MappedStatus:
    # None: the platform status says nothing new about the lifecycle (e.g. a dispute opened);
    # keep the order's status, or use `default_for_new` for an order seen the first time.
    status: str | None
    flags: tuple[str, ...] = ()
    default_for_new: str = OrderStatus.PLACED


_P = OrderStatus
_F = OrderFlag

_ORDER_STATUS_TABLE: dict[str, MappedStatus] = {
    # AliExpress open platform
    "PLACE_ORDER_SUCCESS": MappedStatus(_P.PLACED),
    "PAYMENT_PROCESSING": MappedStatus(_P.PLACED),
    "RISK_CONTROL": MappedStatus(_P.PAID, (_F.PAYMENT_ANOMALY,)),
    "RISK_CONTROL_HOLD": MappedStatus(_P.PAID, (_F.PAYMENT_ANOMALY,)),
    "WAIT_SELLER_EXAMINE_MONEY": MappedStatus(_P.PAID),
    "WAIT_SELLER_SEND_GOODS": MappedStatus(_P.PAID),
    "SELLER_PART_SEND_GOODS": MappedStatus(_P.SHIPPED, (_F.PARTIALLY_SHIPPED, _F.SPLIT)),
    "WAIT_BUYER_ACCEPT_GOODS": MappedStatus(_P.SHIPPED),
    "IN_CANCEL": MappedStatus(None, (_F.CANCEL_REQUESTED,), default_for_new=_P.PAID),
    "FINISH": MappedStatus(_P.DELIVERED),
    "ARCHIVE": MappedStatus(None, default_for_new=_P.DELIVERED),
    "IN_ISSUE": MappedStatus(None, (_F.DISPUTE_OPEN,), default_for_new=_P.SHIPPED),
    "IN_FROZEN": MappedStatus(None, (_F.FROZEN,), default_for_new=_P.PAID),
    # AliExpress seller centre's order export: the statuses as the seller reads them.
    "Awaiting payment": MappedStatus(_P.PLACED),
    "Payment processing": MappedStatus(_P.PLACED),
    "Pending payment": MappedStatus(_P.PLACED),
    "Payment verification": MappedStatus(_P.PAID, (_F.PAYMENT_ANOMALY,)),
    "Under risk control": MappedStatus(_P.PAID, (_F.PAYMENT_ANOMALY,)),
    "Awaiting shipment": MappedStatus(_P.PAID),
    "Awaiting dispatch": MappedStatus(_P.PAID),
    "Waiting for shipment": MappedStatus(_P.PAID),
    "To be shipped": MappedStatus(_P.PAID),
    "Partially shipped": MappedStatus(_P.SHIPPED, (_F.PARTIALLY_SHIPPED, _F.SPLIT)),
    "Part shipped": MappedStatus(_P.SHIPPED, (_F.PARTIALLY_SHIPPED, _F.SPLIT)),
    "Awaiting delivery": MappedStatus(_P.SHIPPED),
    "Awaiting receipt": MappedStatus(_P.SHIPPED),
    "Awaiting buyer confirmation": MappedStatus(_P.SHIPPED),
    "Awaiting confirmation of receipt": MappedStatus(_P.SHIPPED),
    "In transit": MappedStatus(_P.SHIPPED),
    "Finished": MappedStatus(_P.DELIVERED),
    "Order completed": MappedStatus(_P.DELIVERED),
    "Delivered": MappedStatus(_P.DELIVERED),
    "Order closed": MappedStatus(_P.CLOSED),
    "Cancelled order": MappedStatus(_P.CLOSED),
    "In dispute": MappedStatus(None, (_F.DISPUTE_OPEN,), default_for_new=_P.SHIPPED),
    "Dispute": MappedStatus(None, (_F.DISPUTE_OPEN,), default_for_new=_P.SHIPPED),
    "Buyer requested cancellation": MappedStatus(
        None, (_F.CANCEL_REQUESTED,), default_for_new=_P.PAID
    ),
    "Cancellation requested": MappedStatus(None, (_F.CANCEL_REQUESTED,), default_for_new=_P.PAID),
    "Frozen": MappedStatus(None, (_F.FROZEN,), default_for_new=_P.PAID),
    "Fund frozen": MappedStatus(None, (_F.FROZEN,), default_for_new=_P.PAID),
    # Taobao / Tmall open platform
    "WAIT_BUYER_PAY": MappedStatus(_P.PLACED),
    "SELLER_CONSIGNED_PART": MappedStatus(_P.SHIPPED, (_F.PARTIALLY_SHIPPED, _F.SPLIT)),
    "WAIT_BUYER_CONFIRM_GOODS": MappedStatus(_P.SHIPPED),
    "TRADE_BUYER_SIGNED": MappedStatus(_P.DELIVERED),
    "TRADE_FINISHED": MappedStatus(_P.DELIVERED),
    "TRADE_CLOSED": MappedStatus(_P.CLOSED),
    "TRADE_CLOSED_BY_TAOBAO": MappedStatus(_P.CLOSED),
    # Taobao seller-centre export phrases (simplified; traditional folds onto these)
    "等待买家付款": MappedStatus(_P.PLACED),
    "买家已付款等待卖家发货": MappedStatus(_P.PAID),
    "等待卖家发货": MappedStatus(_P.PAID),
    "卖家部分发货": MappedStatus(_P.SHIPPED, (_F.PARTIALLY_SHIPPED, _F.SPLIT)),
    "卖家已发货等待买家确认": MappedStatus(_P.SHIPPED),
    "卖家已发货": MappedStatus(_P.SHIPPED),
    "买家已签收": MappedStatus(_P.DELIVERED),
    "交易成功": MappedStatus(_P.DELIVERED),
    "交易关闭": MappedStatus(_P.CLOSED),
    "付款以前卖家或买家主动关闭交易": MappedStatus(_P.CLOSED),
    "退款中": MappedStatus(None, (_F.DISPUTE_OPEN,), default_for_new=_P.PAID),
    # Kefu's own names and common English words (generic shops, JSONL, webhooks)
    "PLACED": MappedStatus(_P.PLACED),
    "UNPAID": MappedStatus(_P.PLACED),
    "PENDING": MappedStatus(_P.PLACED),
    "PAID": MappedStatus(_P.PAID),
    "SHIPPED": MappedStatus(_P.SHIPPED),
    "PARTIALLY_SHIPPED": MappedStatus(_P.SHIPPED, (_F.PARTIALLY_SHIPPED, _F.SPLIT)),
    "DELIVERED": MappedStatus(_P.DELIVERED),
    "COMPLETED": MappedStatus(_P.DELIVERED),
    "CLOSED": MappedStatus(_P.CLOSED),
    "CANCELLED": MappedStatus(_P.CLOSED),
    "CANCELED": MappedStatus(_P.CLOSED),
    "REFUNDED": MappedStatus(_P.REFUNDED),
    "PARTIALLY_REFUNDED": MappedStatus(_P.PARTIALLY_REFUNDED),
}

_TRACKING_TABLE: dict[str, str] = {}


def _key(text: str) -> str:
    # Width/case/script folded, then everything but letters, digits and CJK dropped.
    return re.sub(r"[\W_]+", "", normalize(text.strip()))


def _add_tracking(status: str, *names: str) -> None:
    for name in names:
        _TRACKING_TABLE[_key(name)] = status


_T = TrackingStatus
_add_tracking(
    _T.INFO_RECEIVED,
    "info_received",
    "InfoReceived",
    "Pending",
    "NotFound",
    "label created",
    "已下单",
    "已揽件信息",
    "揽收信息",
    "待揽收",
    "电子面单已生成",
)
_add_tracking(
    _T.IN_TRANSIT,
    "in_transit",
    "InTransit",
    "transit",
    "已揽收",
    "已揽件",
    "运输中",
    "在途",
    "转运中",
    "已发出",
    "到达转运中心",
)
_add_tracking(
    _T.AT_CUSTOMS,
    "at_customs",
    "customs",
    "CustomsClearance",
    "清关中",
    "海关",
    "进口清关",
    "出口清关",
    "待清关",
)
_add_tracking(
    _T.AVAILABLE_FOR_PICKUP,
    "available_for_pickup",
    "AvailableForPickup",
    "PickUp",
    "ready for pickup",
    "待取件",
    "待自提",
    "已到达自提点",
    "已到驿站",
    "快递柜",
)
_add_tracking(
    _T.OUT_FOR_DELIVERY,
    "out_for_delivery",
    "OutForDelivery",
    "派送中",
    "派件中",
    "正在派件",
    "投递中",
)
_add_tracking(_T.DELIVERED, "delivered", "Delivered", "已签收", "签收", "妥投", "已妥投")
_add_tracking(
    _T.DELIVERY_FAILED,
    "delivery_failed",
    "DeliveryFailure",
    "AttemptFail",
    "Undelivered",
    "failed attempt",
    "投递失败",
    "派送失败",
    "派件失败",
)
_add_tracking(
    _T.EXCEPTION, "exception", "Exception", "Alert", "Expired", "异常", "问题件", "滞留", "丢失"
)
_add_tracking(
    _T.RETURNED, "returned", "Returned", "ReturnToSender", "returning", "退回", "已退回", "退件"
)

_ORDER_TABLE_KEYED = {_key(k): v for k, v in _ORDER_STATUS_TABLE.items()}


def map_order_status(raw: str) -> MappedStatus | None:
    """The Kefu status for a platform status code or a Chinese export phrase; None if unknown."""
    if not raw.strip():
        return None
    return _ORDER_TABLE_KEYED.get(_key(raw))


def map_tracking_status(raw: str) -> str | None:
    """The tracking vocabulary entry for a carrier/tracker status; None if unknown.

    Exact names first; otherwise the longest known phrase contained in the text, so a
    description such as "快件已到达上海转运中心" still maps.
    """
    key = _key(raw)
    if not key:
        return None
    if key in _TRACKING_TABLE:
        return _TRACKING_TABLE[key]
    best: tuple[int, str] | None = None
    for phrase, status in _TRACKING_TABLE.items():
        if len(phrase) >= 2 and phrase in key and (best is None or len(phrase) > best[0]):
            best = (len(phrase), status)
    return best[1] if best else None


@functools.lru_cache(maxsize=1024)
def order_status(raw: str) -> MappedStatus | None:
    """`map_order_status`, remembered: an export repeats a handful of status phrases, and
    folding each one (width, case, script) cost more than the rest of the row."""
    return map_order_status(raw)
