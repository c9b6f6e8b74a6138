"""The intake worker's set-based batch: queued buyer messages stored, routed and answered
automatically for up to a batch per transaction, storing what the per-message path stores
(issue 15, decisions §47).

``kefu.conversations.intake_batch`` stores and routes (one buyer upsert per shop, one locked
read of the conversations, multi-row inserts, agent loads written once); automation decides
each message's replies with ``automatic_replies_for`` in batch mode (buyers' automation rows
locked once, settings, hours, holidays and keyword set read once per shop); events and
outbox rows go in with one multi-row INSERT each and are pushed in one go after commit.
A failure anywhere raises: the worker rolls the batch back and does it message by message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.automation.auto_replies import automatic_replies_for
from kefu.automation.auto_replies_batch import ReplyBatch
from kefu.conversations import events
from kefu.conversations.intake import BuyerMessageIn, checked_message
from kefu.conversations.intake_batch import BatchStore, Item
from kefu.conversations.intake_queue import message_of, stored_message_ids
from kefu.conversations.models import IntakeMessage, Message
from kefu.conversations.outbound import queue_deliveries
from kefu.core.db.bulk import id_pool


@dataclass
class BatchResult:
    stored: list[int] = field(default_factory=list)  # queue rows done (stored, or were already)
    refused: list[tuple[IntakeMessage, str]] = field(default_factory=list)
    # The batch's store, its agents' loads still to write (``BatchStore.write_loads``).
    store: BatchStore | None = None

    def write_loads(self) -> None:
        """The agents' loads: the batch's last write, just before its commit."""
        if self.store is not None:
            self.store.write_loads()


def incoming_of(row: IntakeMessage) -> BuyerMessageIn:
    """A queued row as the message the webhook checked (raises ``ValidationError``)."""
    return checked_message(message_of(row))


def process_batch(rows: list[IntakeMessage]) -> BatchResult:
    """Store the rows' messages (in id order per buyer). Call inside a transaction that
    rolls back as a whole when this raises, and end it with ``result.write_loads()``."""
    result = BatchResult()
    now = timezone.now()
    items: list[Item] = []
    for row in rows:
        try:
            incoming = incoming_of(row)
        except ValidationError as exc:
            result.refused.append((row, "; ".join(exc.messages)))
            continue
        items.append(Item(row.pk, row.shop, incoming, incoming.sent_at or now))
    by_shop: dict[int, list[Item]] = {}
    for item in items:
        by_shop.setdefault(item.shop.pk, []).append(item)
    todo: list[Item] = []
    for shop_items in by_shop.values():
        shop = shop_items[0].shop
        # A retried delivery stored by an earlier drain (or the synchronous path): done.
        done = set(
            stored_message_ids(
                shop_id=shop.pk,
                external_ids=[i.incoming.external_id for i in shop_items if i.incoming.external_id],
            )
        )
        result.stored += [i.row_id for i in shop_items if i.incoming.external_id in done]
        todo += [i for i in shop_items if i.incoming.external_id not in done]
    if not todo:
        return result
    store = result.store = BatchStore()
    replies = ReplyBatch()
    # Ids for the batch's rows drawn in one statement, as many per message as batches took.
    with id_pool(units=len(todo)), events.deferred(push_from_memory=True):
        for shop_id in by_shop:
            mine = [i for i in todo if i.shop.pk == shop_id]
            if mine:
                store.prepare(mine[0].shop, mine)
        store.lock({i.buyer_id for i in todo}, earliest=min(i.at for i in todo))
        replies.lock_states(((i.shop.pk, i.buyer_id) for i in todo), created=store.created_buyers)
        replies.read_history(
            buyers=store.buyers.values(),
            conversation_ids=store.conversation_ids(),
            earliest=min(i.at for i in todo),
            created=store.created_buyers,
        )
        language = {b.pk: b.language for b in store.buyers.values()}
        written = dict(language)
        sent: list[Message] = []
        for round_items in _rounds(todo):
            stored = store.store_round(round_items)
            replies.start_round([message for _, message in stored])
            for item, (conv, message) in zip(round_items, stored, strict=True):
                buyer = store.buyers[item.buyer_id]
                # What the buyer's row says at this message in the per-message path: the
                # webhook's language, then what detection wrote back.
                if item.incoming.buyer.language:
                    language[buyer.pk] = item.incoming.buyer.language
                buyer.language = language[buyer.pk]
                message.shop, message.buyer, message.conversation = item.shop, buyer, conv
                for reply in automatic_replies_for(message=message, batch=replies):
                    reply.conversation = conv
                    events.automatic_message_sent(
                        conv, reply, automation=str(reply.payload.get("automation", ""))
                    )
                    sent.append(reply)
                # Detection's change stays in memory (``write=False``): written below,
                # once per buyer, where the batch's last value differs from the row's.
                language[buyer.pk] = buyer.language
                result.stored.append(item.row_id)
            replies.flush()
        queue_deliveries(sent)
        store.finish(languages={pk: lang for pk, lang in language.items() if written[pk] != lang})
        replies.save_states()
    return result


def _rounds(items: list[Item]) -> list[list[Item]]:
    """The n-th message of each buyer, per round, in queue order within a round."""
    count: dict[int, int] = {}
    rounds: list[list[Item]] = []
    for item in sorted(items, key=lambda i: i.row_id):
        n = count.get(item.buyer_id, 0)
        count[item.buyer_id] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(item)
    return rounds
