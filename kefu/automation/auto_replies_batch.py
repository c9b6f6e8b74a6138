"""Automatic replies for a batch of buyer messages, decided as the per-message path decides them.

The intake worker stores a batch of queued messages per transaction (issue 15). What
``automatic_replies_for`` reads or writes once per message — the buyer's locked automation
row, the "buyer answered" marks on earlier auto replies, the welcome window, the shop's
settings, hours, holidays and keyword set — is done here once per batch (or once per round:
the n-th message of every buyer in the batch), and the decision itself stays the one in
``auto_replies``, so both paths answer the same.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from kefu.automation.auto_replies import WELCOME_WINDOW, Lookups
from kefu.automation.models import AutomationHit, BuyerAutomationState
from kefu.automation.outcomes import OUTCOME_WINDOW
from kefu.compliance.services import UnattendedChecks
from kefu.conversations.models import Buyer, Direction, Message
from kefu.core.db.bulk import insert_instances, update_instances

log = logging.getLogger("kefu.automation")

_STATE_FIELDS = [
    "detected_language",
    "detected_confidence",
    "detection_samples",
    "language_override",
    "override_by_id",
    "last_welcome_at",
    "out_of_hours_day",
    "updated_at",
]


class ReplyBatch:
    """One intake batch's automation bookkeeping; use inside the batch's transaction."""

    def __init__(self) -> None:
        self.lookups = Lookups()
        self.checks = UnattendedChecks()
        self._replies: list[Message] = []
        self._hits: list[AutomationHit] = []
        self._states: dict[int, BuyerAutomationState] = {}
        self._new_states: dict[int, BuyerAutomationState] = {}  # inserted by ``save_states``
        self._recent: dict[int, list[tuple[int, dt.datetime]]] = {}
        self._open_hits: dict[int, list[tuple[int, dt.datetime]]] = {}
        self._answered: list[tuple[int, dt.datetime]] = []

    def lock_states(
        self, buyers: Iterable[tuple[int, int]], *, created: set[int] | frozenset[int] = frozenset()
    ) -> None:
        """Lock (creating the missing ones) the automation rows of these (shop id, buyer id)
        pairs with one read; held until the batch commits, like the per-message lock.

        ``created``: buyers whose rows this transaction inserted. No other transaction can
        have made their automation rows, so theirs start in memory with the defaults and are
        inserted with their final values in ``save_states`` — not inserted, read back and
        updated (decisions §96)."""
        wanted = dict((buyer_id, shop_id) for shop_id, buyer_id in buyers)
        for buyer_id in [b for b in wanted if b in created]:
            self._new_states[buyer_id] = BuyerAutomationState(
                buyer_id=buyer_id, shop_id=wanted.pop(buyer_id)
            )
        if not wanted:
            return
        found = self._locked(list(wanted))
        missing = [b for b in wanted if b not in found]
        if missing:
            BuyerAutomationState.objects.bulk_create(
                [BuyerAutomationState(buyer_id=b, shop_id=wanted[b]) for b in missing],
                ignore_conflicts=True,  # a concurrent synchronous message created it first
            )
            found |= self._locked(missing)
        self._states.update(found)

    @staticmethod
    def _locked(buyer_ids: list[int]) -> dict[int, BuyerAutomationState]:
        rows = BuyerAutomationState.objects.select_for_update().filter(buyer_id__in=buyer_ids)
        return {row.buyer_id: row for row in rows.order_by("buyer_id")}

    def state_of(self, buyer_id: int) -> BuyerAutomationState:
        state = self._states.get(buyer_id)
        return state if state is not None else self._new_states[buyer_id]

    def read_history(
        self,
        *,
        buyers: Iterable[Buyer],
        conversation_ids: Iterable[int],
        earliest: dt.datetime,
        created: set[int] | frozenset[int] = frozenset(),
    ) -> None:
        """Once per batch, after the buyers' automation rows and conversations are locked:
        the buyers' messages of the welcome window and the conversations' automatic replies
        and script uses not yet answered, back from ``earliest`` (the batch's first message
        time). The rounds then keep both in memory: what a round stores is added, what it
        answers is marked (decisions §55). While the batch holds those locks no other
        intake can add to either, so each round sees what a read per round would.

        ``created``: buyers whose rows this transaction inserted (as for ``lock_states``).
        Nobody else can have stored a message of theirs, and the batch stores none before this
        read, so they have no history to read: with every buyer of a batch new, the reads are
        not sent at all (decisions §117)."""
        self._recent = {}
        rows = {b.pk: b for b in buyers if b.pk not in created}
        if rows:
            # Every message of the batch is at ``earliest`` or later, so of the stored ones
            # up to ``earliest`` only each buyer's latest can decide a welcome: one row per
            # buyer (pk 0: never one of the batch's messages), read as a correlated
            # ``ORDER BY sent_at DESC LIMIT 1`` per buyer down the (shop, buyer, sent_at)
            # index — not a MAX over the buyer's whole window (decisions §69).
            latest = Message.objects.filter(
                shop_id=OuterRef("shop_id"),
                buyer_id=OuterRef("pk"),
                direction=Direction.BUYER,
                sent_at__gt=earliest - WELCOME_WINDOW,
                sent_at__lte=earliest,
            ).order_by("-sent_at")
            for buyer_id, last in (
                Buyer.objects.filter(pk__in=list(rows))
                .annotate(last=Subquery(latest.values("sent_at")[:1]))
                .values_list("pk", "last")
            ):
                # None: no message in the window (not filtered in SQL, which would run the
                # subquery twice).
                if last is not None:
                    self._recent.setdefault(buyer_id, []).append((0, last))
            # Stored ones after it (a sender's own later time) are kept as they are. By buyer
            # alone: scoped by shop as well, PostgreSQL without statistics walked the shop's
            # whole range of (shop, buyer, sent_at) for ``sent_at`` (decisions §69).
            for buyer_id, pk, sent_at in Message.objects.filter(
                buyer_id__in=list(rows), direction=Direction.BUYER, sent_at__gt=earliest
            ).values_list("buyer_id", "pk", "sent_at"):
                self._recent.setdefault(buyer_id, []).append((pk, sent_at))
        self._open_hits = {}
        conversations = list(set(conversation_ids))
        if conversations:
            for pk, conversation_id, created_at in AutomationHit.objects.filter(
                conversation_id__in=conversations,
                buyer_replied_at__isnull=True,
                created_at__gte=earliest - OUTCOME_WINDOW,
            ).values_list("pk", "conversation_id", "created_at"):
                self._open_hits.setdefault(conversation_id, []).append((pk, created_at))

    def start_round(self, messages: Sequence[Message]) -> None:
        """Before the automatic replies of stored buyer messages, at most one per buyer: mark
        the auto replies they answer and add them to their buyers' welcome window."""
        for message in messages:
            self._note_buyer_reply(message)
            self._recent.setdefault(message.buyer_id, []).append((message.pk, message.sent_at))

    def first_in_welcome_window(self, message: Message) -> bool:
        """R-07: no other message of the buyer in the 24 hours up to this one."""
        since = message.sent_at - WELCOME_WINDOW
        return not any(
            pk != message.pk and since < at <= message.sent_at
            for pk, at in self._recent.get(message.buyer_id, [])
        )

    def _note_buyer_reply(self, message: Message) -> None:
        # outcomes.note_buyer_reply, on the hits kept in memory; written in ``save_states``.
        at = message.sent_at
        waiting = self._open_hits.get(message.conversation_id)
        if not waiting:
            return
        left = []
        for pk, created_at in waiting:
            if at - OUTCOME_WINDOW <= created_at < at:
                self._answered.append((pk, at))
            else:
                left.append((pk, created_at))
        self._open_hits[message.conversation_id] = left

    def add(self, reply: Message, hit: AutomationHit) -> None:
        """An automatic reply decided and its hit, both unsaved until ``flush``."""
        self._replies.append(reply)
        self._hits.append(hit)

    def flush(self) -> None:
        """Insert the round's automatic replies and their hits (two statements), before
        anything reads them: their events and outbox rows, the next round's buyer replies."""
        if not self._replies:
            return
        now = timezone.now()
        insert_instances(self._replies, now=now)
        insert_instances(self._hits, now=now)
        for hit in self._hits:  # the next rounds' buyer messages may answer them
            self._open_hits.setdefault(hit.conversation_id, []).append((hit.pk, hit.created_at))
        for reply in self._replies:
            log.info(
                "automation.auto_reply shop=%s conversation=%s kind=%s message=%s",
                reply.shop_id,
                reply.conversation_id,
                reply.payload.get("automation"),
                reply.pk,
            )
        self._replies, self._hits = [], []

    def save_states(self) -> None:
        """Write the buyers' automation rows and the answered marks once, at the end of the
        batch."""
        if self._answered:
            update_instances(
                [AutomationHit(pk=pk, buyer_replied_at=at) for pk, at in self._answered],
                ["buyer_replied_at"],
            )
            self._answered = []
        now = timezone.now()
        if self._states:
            for state in self._states.values():
                state.updated_at = now
            update_instances(list(self._states.values()), _STATE_FIELDS)
        if self._new_states:
            # ``created_at``/``updated_at`` take ``now`` (auto_now_add, auto_now).
            insert_instances(list(self._new_states.values()), now=now)
            self._states.update(self._new_states)
            self._new_states = {}
