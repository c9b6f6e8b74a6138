"""The late-shipment scan (R-17): paid, unshipped orders past their ship-by are recorded once
each, with the platform's penalty, and flagged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.orders import events
from kefu.orders.actions import add_flag
from kefu.orders.config import order_settings, penalty_rule
from kefu.orders.models import LateShipment, OrderFlag
from kefu.orders.rules import late_shipment_penalty
from kefu.orders.selectors import risk_board


@dataclass(frozen=True)
class ScanResult:
    at_risk: int
    missed: int


def scan_late_shipments(*, shop: Shop, now: dt.datetime | None = None) -> ScanResult:
    """Record paid, unshipped orders past their ship-by (once each, with the penalty)."""
    now = now or timezone.now()
    settings_ = order_settings(shop=shop)
    rule = penalty_rule(settings_)
    board = risk_board(shop=shop, now=now)
    missed = 0
    for row in board:
        if not row.missed:
            continue
        order = row.order
        with transaction.atomic():
            try:
                with transaction.atomic():
                    LateShipment.objects.create(
                        shop=shop,
                        order=order,
                        ship_by=order.ship_by or now,
                        penalty=late_shipment_penalty(
                            amount=order.paid_amount or order.total_amount,
                            currency=order.currency,
                            rule=rule,
                        ),
                        currency=order.currency,
                        recorded_at=now,
                    )
            except IntegrityError:
                continue
            add_flag(order=order, flag=OrderFlag.LATE_SHIPMENT)
            events.ship_by_missed(
                order, ship_by=order.ship_by or now, penalty=row.exposure, currency=order.currency
            )
        missed += 1
    return ScanResult(at_risk=sum(1 for r in board if not r.missed), missed=missed)
