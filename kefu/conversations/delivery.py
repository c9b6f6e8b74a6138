"""Delivering the outbox in batches (issue 17: a 100,000-buyer campaign went out at 48–90
messages a second, one row, one transaction and four queries at a time).

A batch is claimed with one statement per kind of row — service rows (agents' replies,
automatic replies, reminders) before campaign rows, so a campaign never holds up a reply —
delivered through the channel adapters, and recorded with one UPDATE per outcome. The
guarantees of the one-row outbox stand (decisions §31, §59):

- A claimed row's attempt count is raised and its next attempt moved past its backoff in the
  claiming statement, which commits before anything is sent. A worker that dies between
  sending and recording leaves the row pending; it is sent again after its backoff with the
  same ``Idempotency-Key`` header, so the channel drops the copy — the at-least-once contract
  the outbox always had, for each row of the batch as it was for the one row.
- Two workers never claim the same row: PostgreSQL skips rows another claim holds
  (``FOR UPDATE SKIP LOCKED``); SQLite runs one write statement at a time, and the claim
  re-checks "pending and due" inside that statement.
- A retryable failure waits out the backoff; after ``KEFU_OUTBOX_MAX_ATTEMPTS`` the row is
  not delivered ("gave up"); a refusal or a missing callback URL is final at once, with the
  reason and a ``delivery_failed`` event on the conversation.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from kefu.conversations import events
from kefu.conversations.media import with_absolute_urls
from kefu.conversations.models import DeliveryReason, Outbox, OutboxStatus
from kefu.core.db.bulk import Table
from kefu.integrations.adapters import DeliveryResult, Outbound, adapter_for

log = logging.getLogger("kefu.delivery")

# Rows per claim: large enough that a campaign drains in few statements, small enough that a
# reply queued behind a campaign batch waits for at most one batch, and that a crash re-sends
# (idempotently) at most this many rows.
BATCH = 100
# Backoff doubles from 15 s and stops growing at an hour (attempt 9 on).
_BACKOFF_STEPS = 8


def backoff_seconds(attempts: int) -> int:
    return int(min(15 * 2 ** max(attempts - 1, 0), 3600))


_OUTBOX: Table | None = None


def _outbox_table() -> Table:
    global _OUTBOX
    if _OUTBOX is None:
        _OUTBOX = Table(Outbox)
    return _OUTBOX


def claim(*, now: datetime, limit: int, bulk: bool, ids: Sequence[int] | None = None) -> list[int]:
    """Claim up to ``limit`` pending, due rows of one kind (campaign rows or the others),
    oldest due first, optionally only among ``ids``: in the same statement their attempt
    count goes up and their next attempt moves past the backoff of that attempt."""
    if ids is not None and not ids:
        return []
    alias = router.db_for_write(Outbox)
    conn = connections[alias]
    quote = conn.ops.quote_name
    table = quote(Outbox._meta.db_table)
    postgres = conn.vendor == "postgresql"
    # The new next attempt, by the attempt count before the claim; every value a parameter.
    steps = [
        conn.ops.adapt_datetimefield_value(now + timedelta(seconds=backoff_seconds(n + 1)))
        for n in range(_BACKOFF_STEPS)
    ]
    cap = conn.ops.adapt_datetimefield_value(now + timedelta(seconds=3600))
    cast = "::timestamptz" if postgres else ""
    case = (
        "CASE "
        + " ".join(f"WHEN {table}.attempts = {n} THEN %s{cast}" for n in range(_BACKOFF_STEPS))
        + f" ELSE %s{cast} END"
    )
    where = "status = %s AND bulk = %s AND next_attempt_at <= %s"
    params: list[Any] = [
        OutboxStatus.PENDING,
        bulk,
        conn.ops.adapt_datetimefield_value(now),
    ]
    if ids is not None:
        if postgres:
            where += " AND id = ANY(%s)"
            params.append(list(ids))
        else:
            where += " AND id IN (" + ", ".join(["%s"] * len(ids)) + ")"
            params += list(ids)
    # Identifiers from the model's meta, quoted; every value is a parameter.
    pick = f"SELECT id FROM {table} WHERE {where} ORDER BY next_attempt_at, id LIMIT %s"  # noqa: S608
    params.append(limit)
    if postgres:
        sql = (
            f"WITH due AS ({pick} FOR UPDATE SKIP LOCKED) "  # noqa: S608
            f"UPDATE {table} SET attempts = {table}.attempts + 1, next_attempt_at = {case} "
            f"FROM due WHERE {table}.id = due.id RETURNING {table}.id"
        )
        params = [*params, *steps, cap]
    else:
        # One statement: SQLite writes one at a time, and the subquery is evaluated inside
        # this write, so a row another claim took is no longer due here.
        sql = (
            f"UPDATE {table} SET attempts = attempts + 1, next_attempt_at = {case} "  # noqa: S608
            f"WHERE id IN ({pick}) RETURNING id"
        )
        params = [*steps, cap, *params]
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _outbound(row: Outbox) -> Outbound:
    message = row.message
    return Outbound(
        shop=message.shop,
        channel=row.channel,
        message_id=message.pk,
        conversation_id=message.conversation_id,
        buyer_external_id=message.buyer.external_id,
        kind=message.kind,
        text=message.text,
        payload=with_absolute_urls(message.payload),
        sent_at=message.sent_at,
    )


def _send(rows: list[Outbox]) -> list[DeliveryResult]:
    """Each row through its channel's adapter, one call per channel for the claimed rows."""
    by_channel: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_channel[row.channel].append(i)
    results: list[DeliveryResult | None] = [None] * len(rows)
    for channel, positions in by_channel.items():
        answers = adapter_for(channel).deliver_many([_outbound(rows[i]) for i in positions])
        for i, answer in zip(positions, answers, strict=True):
            results[i] = answer
    return [r for r in results if r is not None]


def _record(rows: list[Outbox], results: list[DeliveryResult]) -> dict[int, str]:
    """Write the batch's outcomes: one UPDATE for the delivered rows, one joined UPDATE for the
    rest, the ``delivery_failed`` events in one insert — all in one transaction."""
    delivered: list[int] = []
    others: list[list[Any]] = []
    failed: list[tuple[Outbox, str, str]] = []
    statuses: dict[int, str] = {}
    for row, result in zip(rows, results, strict=True):
        if result.ok:
            delivered.append(row.pk)
            statuses[row.pk] = OutboxStatus.DELIVERED
            continue
        if not result.retry:
            status, reason = OutboxStatus.NOT_DELIVERED, result.reason or DeliveryReason.REFUSED
        elif row.attempts >= settings.KEFU_OUTBOX_MAX_ATTEMPTS:
            status, reason = OutboxStatus.NOT_DELIVERED, DeliveryReason.GAVE_UP
        else:
            # Pending; the claim already moved the next attempt past this attempt's backoff.
            status, reason = OutboxStatus.PENDING, ""
        statuses[row.pk] = status
        others.append([status, reason, result.error, row.pk])
        if status == OutboxStatus.NOT_DELIVERED:
            failed.append((row, reason, result.error))
        log.info(
            "outbox_delivery id=%s status=%s reason=%s attempts=%s error=%s",
            row.pk,
            status,
            reason,
            row.attempts,
            result.error,
        )
    with transaction.atomic(), events.deferred():
        if delivered:
            Outbox.objects.filter(pk__in=delivered).update(
                status=OutboxStatus.DELIVERED, reason="", last_error="", delivered_at=timezone.now()
            )
        if others:
            _outbox_table().update_joined(["status", "reason", "last_error"], others)
        for row, reason, error in failed:
            events.delivery_failed(
                row.message.conversation, row.message, reason=reason, error=error
            )
    if delivered:
        log.info("outbox_delivered count=%s", len(delivered))
    return statuses


def deliver_batch(
    *, ids: Sequence[int] | None = None, limit: int | None = None, service_first: bool = True
) -> dict[int, str]:
    """Claim, send and record one batch; returns the status of every row it claimed.

    ``ids``: only those rows (the rows a transaction queued); without, any due row.
    ``service_first``: due service rows are claimed before campaign rows, whoever asks, so a
    reply waiting behind a campaign's delivery task leaves with the next batch.
    """
    limit = limit or BATCH
    now = timezone.now()
    claimed: list[int] = []
    if service_first or ids is None:
        claimed = claim(now=now, limit=limit, bulk=False)
    # With the service rows taken above, only campaign rows are left to claim.
    kinds = (True,) if service_first or ids is None else (False, True)
    for bulk in kinds:
        room = limit - len(claimed)
        if room <= 0:
            break
        if ids is None:
            claimed += claim(now=now, limit=room, bulk=bulk)
            continue
        taken = set(claimed)
        rest = [pk for pk in ids if pk not in taken]
        if not rest:
            break
        claimed += claim(now=now, limit=room, bulk=bulk, ids=rest)
    if not claimed:
        return {}
    rows = list(
        Outbox.objects.filter(pk__in=claimed)
        .select_related("message__shop", "message__buyer", "message__conversation")
        .order_by("bulk", "pk")  # the service rows leave first
    )
    results = _send(rows)
    return _record(rows, results)


def deliver_rows(ids: Sequence[int]) -> int:
    """Deliver the given rows batch by batch (each batch first takes any waiting service
    rows); rows not due or already delivered are left alone. Returns rows handled."""
    handled = 0
    remaining = list(ids)
    while remaining:
        done = deliver_batch(ids=remaining)
        if not done:
            break
        handled += len(done)
        remaining = [pk for pk in remaining if pk not in done]
    return handled


def deliver_due(*, max_rows: int = 2000) -> int:
    """The sweeper: due rows, service ones first, up to ``max_rows`` per run (a run stays
    short, so the other periodic jobs on the worker are not held up)."""
    handled = 0
    while handled < max_rows:
        done = deliver_batch(limit=min(BATCH, max_rows - handled))
        if not done:
            break
        handled += len(done)
    return handled


def deliver_outbox_row(*, outbox_id: int) -> str:
    """Deliver one row now if it is pending and due (an agent's reply, on commit); returns its
    status afterwards, or "skipped" when it was not due or not pending."""
    done = deliver_batch(ids=[outbox_id], limit=1, service_first=False)
    return done.get(outbox_id, "skipped")
