"""Storing and routing a batch of buyer messages set-based (issue 15, decisions §47).

What ``intake.store_buyer_message`` does for one message, done for a batch of queued
messages in one transaction: one buyer upsert per shop, one locked read of the batch's
conversations, multi-row inserts of conversations and messages, and the agents' load
counters kept in memory and written once at the end, in agent-id order — so two workers
never wait on each other's presence rows in opposite orders, and a batch holds those rows
only for its last statements. Messages are stored in *rounds* (the n-th message of every
buyer of the batch): one buyer's messages keep their order and each sees what the one before
it did, exactly as they would one after the other. Events are recorded through
``events.deferred`` by the caller, in the same order as the per-message path records them.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.signals import post_save
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.catalog.models import Product
from kefu.conversations import events
from kefu.conversations.assignment import is_available
from kefu.conversations.buyers import upsert_buyers
from kefu.conversations.intake import (
    CAMPAIGN_REPLY_WINDOW,
    REOPEN_WINDOW,
    BuyerMessageIn,
    campaign_reply_group,
)
from kefu.conversations.load import LIVE
from kefu.conversations.models import (
    CAMPAIGN_AUTOMATION,
    AgentPresence,
    Buyer,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
)
from kefu.conversations.routing import available_agent_loads, group_for_entry_point
from kefu.conversations.text import preview
from kefu.core.db.bulk import insert_instances, reserve_ids, update_instances

_CONVERSATION_FIELDS = [
    "status",
    "opened_at",
    "resolved_at",
    "product_id",
    "order_external_id",
    "unread_count",
    "waiting_since",
    "last_message_at",
    "last_message_preview",
    "assignee_id",
]


@dataclass
class Item:
    """One queued message of the batch, checked; ``buyer_id`` once the buyers are upserted."""

    row_id: int
    shop: Shop
    incoming: BuyerMessageIn
    at: dt.datetime
    buyer_id: int = 0


class Loads:
    """Agent load counters and last-assignment times changed by the batch, written once."""

    def __init__(self) -> None:
        self.delta: dict[int, int] = {}
        self.assigned_at: dict[int, dt.datetime] = {}
        # Every agent whose counter or time moved, in order (repeats allowed): the router
        # re-ranks exactly these instead of every candidate at each choice.
        self.changed: list[int] = []

    def shift(self, user_id: int | None, delta: int) -> None:
        if user_id is not None and delta:
            self.delta[user_id] = self.delta.get(user_id, 0) + delta
            self.changed.append(user_id)

    def assigned(self, user_id: int, at: dt.datetime) -> None:
        self.assigned_at[user_id] = at
        self.changed.append(user_id)

    def write(self) -> None:
        # In agent-id order: every batch takes the presence locks in the same order.
        users = sorted(u for u in set(self.delta) | set(self.assigned_at) if self._changes(u))
        if connection.vendor == "postgresql" and len(users) > 1:
            self._write_joined(users)
            return
        for user_id in users:
            change: dict[str, object] = {}
            if self.delta.get(user_id):
                change["open_load"] = F("open_load") + self.delta[user_id]
            if user_id in self.assigned_at:
                change["last_assigned_at"] = self.assigned_at[user_id]
            if change:
                AgentPresence.objects.filter(user_id=user_id).update(**change)

    def _changes(self, user_id: int) -> bool:
        return bool(self.delta.get(user_id)) or user_id in self.assigned_at

    def _write_joined(self, users: list[int]) -> None:
        """Every changed presence row in one statement instead of one UPDATE per agent: a
        batch spreads its new conversations over the least loaded agents, so with a thousand
        agents online it changed a row per new conversation (decisions §73). The rows are
        locked in agent-id order (the CTE's ``ORDER BY … FOR UPDATE``), so two batches still
        take them in the same order: the UPDATE joins each row to the CTE's, which is only
        produced once locked, after every lower id. One round trip where the lock and the
        UPDATE were two (decisions §117): a batch's fixed part is its statements."""
        table = AgentPresence._meta.db_table
        # One array per column: the statement's text does not grow with the rows, which
        # psycopg's client-side binding would otherwise split in Python (decisions §103).
        deltas = [self.delta.get(user_id, 0) for user_id in users]
        times = [self.assigned_at.get(user_id) for user_id in users]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH locked AS MATERIALIZED (SELECT user_id FROM {table} "  # noqa: S608
                "WHERE user_id = ANY(%s) ORDER BY user_id FOR UPDATE) "
                f"UPDATE {table} AS p SET open_load = p.open_load + v.delta, "
                "last_assigned_at = COALESCE(v.assigned_at, p.last_assigned_at) "
                "FROM unnest(%s::bigint[], %s::integer[], %s::timestamptz[]) "
                "AS v (user_id, delta, assigned_at), locked "
                "WHERE p.user_id = v.user_id AND locked.user_id = v.user_id",
                [users, users, deltas, times],
            )


# Agents read as `User` together when the batch router needs one it has not read yet.
USER_READ = 64

_Candidate = tuple[int, int, dt.datetime | None]
_Rank = tuple[int, int, dt.datetime, int]


class _Ranking:
    """One group's candidates with a heap of (rank, user id) kept current by the agents whose
    loads moved: a choice is the heap's top instead of ranking every candidate — with a
    thousand agents online that ranking was a thousand key calls per message routed (decisions
    §83). The heap may hold outdated entries; an entry whose rank is no longer its agent's is
    dropped when it reaches the top, and every change pushes the agent's current rank, so the
    top valid entry is the least ranked candidate.

    ``complete`` is False when only the first ``limit`` candidates in rank order were read
    (``available_agent_loads(limit=…)``), and product owners asked for: then the top is the answer
    only while some of those first candidates are untouched (each change of a read agent only
    raises its rank, and an agent not read ranks after every one of them) and no agent
    outside them lost load (an unread agent whose rank went down could now be first)."""

    def __init__(self, rows: list[_Candidate], *, limit: int | None):
        self.complete = limit is None or len(rows) < limit
        self.first = len(rows)
        self.rows: dict[int, _Candidate] = {row[0]: row for row in rows}
        self.asked: set[int] = set()  # product owners looked up beyond the first rows
        self.heap: list[tuple[_Rank, int]] = []
        self.seen = 0  # how far into ``Loads.changed`` this heap has taken
        self.touched: set[int] = set()
        self.stale = False


class Router:
    """``routing.choose_agent`` with the group's candidates read once per batch and the load
    counters moved in memory: the same least-loaded, then longest-idle, then id order. The
    candidates are plain rows; only chosen agents become ``User``s, read with the ones ranked
    next (``USER_READ`` at a time). Told how many messages the batch may route
    (``expect``), a group's read stops at the n + 1 least ranked candidates, which is all n
    choices can reach (a product's owner is looked up apart); it reads them all when a
    change in the batch could break that (``_Ranking``)."""

    def __init__(self, loads: Loads) -> None:
        self.loads = loads
        self._rankings: dict[tuple[int, str], _Ranking] = {}
        self._users: dict[int, User] = {}
        self._limit: int | None = None

    def expect(self, messages: int) -> None:
        """The batch routes at most this many more conversations (a message routes its
        conversation at most once)."""
        self._limit = (self._limit or 1) + messages

    def _ranking(self, shop: Shop, group: str) -> _Ranking:
        key = (shop.pk, group)
        ranking = self._rankings.get(key)
        if ranking is None or ranking.stale:
            ranking = self._read(shop, group, limit=None if ranking else self._limit)
            self._rankings[key] = ranking
        self._catch_up(ranking)
        if ranking.stale:
            ranking = self._rankings[key] = self._read(shop, group, limit=None)
            self._catch_up(ranking)
        return ranking

    def _read(self, shop: Shop, group: str, *, limit: int | None) -> _Ranking:
        ranking = _Ranking(available_agent_loads(shop=shop, group=group, limit=limit), limit=limit)
        ranking.heap = [(self._rank(row), row[0]) for row in ranking.rows.values()]
        heapq.heapify(ranking.heap)
        # What moved before this read is in the ranks already; later changes are caught up.
        ranking.seen = len(self.loads.changed)
        if not ranking.complete:
            ranking.touched = {pk for pk in self.loads.changed if pk in ranking.rows}
            if any(d < 0 and pk not in ranking.rows for pk, d in self.loads.delta.items()):
                ranking.stale = True
        return ranking

    def _catch_up(self, ranking: _Ranking) -> None:
        changed = self.loads.changed
        for user_id in changed[ranking.seen :]:
            row = ranking.rows.get(user_id)
            if row is not None:
                heapq.heappush(ranking.heap, (self._rank(row), user_id))
                ranking.touched.add(user_id)
            elif not ranking.complete and self.loads.delta.get(user_id, 0) < 0:
                ranking.stale = True
        ranking.seen = len(changed)
        if not ranking.complete and len(ranking.touched) >= ranking.first:
            ranking.stale = True

    def _rank(self, candidate: _Candidate) -> _Rank:
        user_id, open_load, last_assigned_at = candidate
        last = self.loads.assigned_at.get(user_id, last_assigned_at)
        load = open_load + self.loads.delta.get(user_id, 0)
        return (
            load,
            0 if last is None else 1,
            last or dt.datetime.min.replace(tzinfo=dt.UTC),
            user_id,
        )

    def _first(self, ranking: _Ranking) -> int:
        heap = ranking.heap
        while heap[0][0] != self._rank(ranking.rows[heap[0][1]]):
            heapq.heappop(heap)  # outdated: the agent's current rank was pushed when it moved
        return heap[0][1]

    def _user(self, user_id: int, ranking: _Ranking) -> User:
        if user_id not in self._users:
            # The agents ranked next are the ones the batch's next messages go to (least
            # loaded first): read them with this one, one query per USER_READ picks instead
            # of one per agent chosen. (An outdated heap entry only makes the guess worse.)
            ahead = heapq.nsmallest(USER_READ, ranking.heap)
            wanted = {user_id} | {pk for _, pk in ahead if pk not in self._users}
            # With their presence, as the conversations' assignees are read: a later round
            # of the batch asks whether the agent is still available.
            self._users.update(User.objects.select_related("presence").in_bulk(wanted))
        return self._users[user_id]

    def choose(self, shop: Shop, group: str, product: Product | None) -> tuple[User | None, str]:
        ranking = self._ranking(shop, group)
        if not ranking.rows:
            return None, "no_agent_online"
        if product is not None and product.owner_id is not None:
            if product.owner_id in ranking.rows:
                return self._user(product.owner_id, ranking), "product_owner"
            if not ranking.complete and product.owner_id not in ranking.asked:
                # Not among the first rows read: whether the owner is a candidate at all. An
                # agent beyond those ranks after each of them, so the heap stays right.
                ranking.asked.add(product.owner_id)
                for row in available_agent_loads(shop=shop, group=group, only=product.owner_id):
                    ranking.rows[row[0]] = row
                    heapq.heappush(ranking.heap, (self._rank(row), row[0]))
                    return self._user(row[0], ranking), "product_owner"
        return self._user(self._first(ranking), ranking), "least_busy"


class BatchStore:
    """The conversation side of one batch; call in order: ``prepare`` per shop, ``lock``,
    ``store_round`` per round, ``finish``."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.loads = Loads()
        self.router = Router(self.loads)
        self.buyers: dict[int, Buyer] = {}
        self._products: dict[tuple[int, str], Product] = {}
        self._live: dict[tuple[int, str], Conversation] = {}
        self._touched: dict[int, Conversation] = {}
        self._last_message: dict[int, dt.datetime] = {}
        self._campaign_buyers: set[int] = set()
        # Buyers whose rows the batch inserted: no other transaction can have rows of theirs.
        self.created_buyers: set[int] = set()
        # Conversations the batch created with ids reserved, inserted by ``finish`` with
        # their final values (decisions §108), by id.
        self._unsaved: dict[int, Conversation] = {}

    def prepare(self, shop: Shop, items: list[Item]) -> None:
        """One buyer upsert and one product read for the shop's messages of the batch."""
        self.router.expect(len(items))
        ids = upsert_buyers(
            shop=shop,
            seen=[(item.incoming.buyer, item.at) for item in items],
            live=True,
            created=self.created_buyers,
        )
        for item in items:
            item.buyer_id = ids[item.incoming.buyer.external_id]
        wanted = {i.incoming.product_external_id for i in items if i.incoming.product_external_id}
        if wanted:
            for product in Product.objects.filter(shop=shop, external_id__in=wanted):
                self._products[(shop.pk, product.external_id)] = product

    def lock(self, buyer_ids: set[int], *, earliest: dt.datetime | None = None) -> None:
        """The buyers' rows and one locked read of their live and recently resolved
        conversations (``intake._live_conversation`` for all of them); ``earliest`` is the
        batch's first message time, for the campaign replies' window."""
        # Only a buyer a campaign wrote to within the window can be answering one; the
        # per-message rule (``campaign_reply_group``) then runs for those buyers alone. One
        # EXISTS per buyer through the partial index of campaign messages
        # (``msg_campaign_buyer_time``, decisions §69): a probe per buyer, not a walk through
        # its stored messages; read with the buyers' rows, one statement for both (§117).
        since = min(earliest or self.now, self.now) - CAMPAIGN_REPLY_WINDOW
        campaign = Message.objects.filter(
            shop_id=OuterRef("shop_id"),
            buyer_id=OuterRef("pk"),
            direction=Direction.AUTO,
            sent_at__gte=since,
            payload__automation=CAMPAIGN_AUTOMATION,
        )
        self.buyers = {}
        self._campaign_buyers = set()
        for buyer in Buyer.objects.filter(pk__in=buyer_ids).annotate(
            campaign_within=Exists(campaign)
        ):
            self.buyers[buyer.pk] = buyer
            if buyer.campaign_within:
                self._campaign_buyers.add(buyer.pk)
        rows = (
            Conversation.objects.select_for_update(of=("self",))
            # By buyer alone (a buyer is a row of one shop): through the buyer_id index, a
            # few conversations per buyer. Scoped by shop as well, PostgreSQL without
            # statistics (autovacuum off) read the shop's every conversation version through
            # conversations' shop_id index instead (decisions §69).
            .filter(buyer_id__in=buyer_ids)
            .filter(
                ~Q(status=ConversationStatus.RESOLVED)
                | Q(resolved_at__gte=self.now - REOPEN_WINDOW)
            )
            .select_related("assignee__presence", "product")
            .order_by("pk")
        )
        reopenable: dict[tuple[int, str], Conversation] = {}
        for conv in rows:
            key = (conv.buyer_id, conv.group)
            if conv.status != ConversationStatus.RESOLVED:
                self._live.setdefault(key, conv)
            else:
                best = reopenable.get(key)
                if best is None or (conv.resolved_at or self.now) > (best.resolved_at or self.now):
                    reopenable[key] = conv
        for key, conv in reopenable.items():
            self._live.setdefault(key, conv)

    def conversation_ids(self) -> list[int]:
        """The stored conversations ``lock`` found for the batch's buyers."""
        return [conv.pk for conv in self._live.values()]

    def store_round(self, items: list[Item]) -> list[tuple[Conversation, Message]]:
        """Store one message per buyer, route, and record the events the per-message path
        records, in its order."""
        convs: list[Conversation] = []
        created: list[Conversation] = []
        now = timezone.now()
        for item in items:
            if item.incoming.sent_at is None:
                # Received when stored, as message by message: later than the automatic
                # replies to the buyer's message of the round before (which it answers).
                item.at = now
            incoming = item.incoming
            group = (
                campaign_reply_group(item.shop, item.buyer_id, item.at)
                if item.buyer_id in self._campaign_buyers
                else None
            ) or group_for_entry_point(incoming.entry_point)
            product = self._products.get((item.shop.pk, incoming.product_external_id or ""))
            conv = self._live.get((item.buyer_id, group))
            if conv is None:
                conv = Conversation(
                    shop=item.shop,
                    buyer_id=item.buyer_id,
                    channel=incoming.channel,
                    entry_point=incoming.entry_point,
                    group=group,
                    status=ConversationStatus.OPEN,
                    product=product,
                    order_external_id=(incoming.order_external_id or "")[:80],
                    last_message_at=item.at,
                    opened_at=item.at,
                )
                self._live[(item.buyer_id, group)] = conv
                created.append(conv)
            convs.append(conv)
        self._create(created, now)
        fresh = {id(c) for c in created}
        messages: list[Message] = []
        for item, conv in zip(items, convs, strict=True):
            incoming = item.incoming
            conv.shop = item.shop
            # The live push is built from these objects after commit (events.deferred).
            conv.buyer = self.buyers[item.buyer_id]
            if id(conv) in fresh:
                events.conversation_created(conv)
            elif conv.status == ConversationStatus.RESOLVED:
                conv.status = ConversationStatus.OPEN
                conv.opened_at = item.at
                conv.resolved_at = None
                self.loads.shift(conv.assignee_id, +1)
                events.conversation_reopened(conv, reason="buyer_message")
            product = self._products.get((item.shop.pk, incoming.product_external_id or ""))
            if product is not None and conv.product_id != product.pk:
                conv.product = product
            if incoming.order_external_id:
                conv.order_external_id = incoming.order_external_id[:80]
            messages.append(
                Message(
                    shop=item.shop,
                    conversation=conv,
                    buyer_id=item.buyer_id,
                    direction=Direction.BUYER,
                    text=incoming.text,
                    external_id=incoming.external_id,
                    sent_at=item.at,
                )
            )
        insert_instances(messages, now=now)
        out: list[tuple[Conversation, Message]] = []
        for item, conv, message in zip(items, convs, messages, strict=True):
            # A multi-row INSERT sends no post_save; its listeners (outreach opt-outs) expect it.
            post_save.send(Message, instance=message, created=True, raw=False, using="default")
            conv.status = ConversationStatus.OPEN
            conv.unread_count += 1
            if conv.waiting_since is None:
                conv.waiting_since = item.at
            if item.at >= conv.last_message_at:
                conv.last_message_at = item.at
                conv.last_message_preview = preview(item.incoming.text)
            last = self._last_message.get(item.buyer_id)
            if last is None or item.at > last:
                self._last_message[item.buyer_id] = item.at
            if conv.assignee is None or not is_available(conv.assignee):
                self._route(conv, reason_prefix="" if conv.assignee is None else "offline_")
            events.message_received(conv, message)
            self._touched[conv.pk] = conv
            out.append((conv, message))
        return out

    def _create(self, created: list[Conversation], now: dt.datetime) -> None:
        """The round's new conversations: on PostgreSQL their ids from the batch's pool now
        and their rows at ``finish``, once, with their final values — inserted here they were
        updated there with the batch's other conversations, the batch's costliest statement
        (decisions §103, §108). The rows naming them meanwhile (messages, automatic replies,
        hits, outbox rows, events) rely on deferred foreign keys. One read within the batch
        joins conversations: ``campaign_reply_group``'s, for the buyers a campaign wrote to;
        theirs go in now, as before, so that read finds them."""
        if not reserve_ids(created, now=now):
            insert_instances(created, now=now)
            return
        now_in = [c for c in created if c.buyer_id in self._campaign_buyers]
        insert_instances(now_in, now=now, reserved=True)
        for conv in created:
            if conv.buyer_id not in self._campaign_buyers:
                self._unsaved[conv.pk] = conv

    def _route(self, conv: Conversation, *, reason_prefix: str) -> None:
        # assignment.route_conversation, with the load counters in memory.
        agent, reason = self.router.choose(conv.shop, conv.group, conv.product)
        previous = conv.assignee
        live = conv.status in LIVE
        if agent is None:
            if previous is not None:
                conv.assignee = None
                if live:
                    self.loads.shift(previous.pk, -1)
                events.conversation_unassigned(
                    conv, previous=previous, reason=reason_prefix + reason
                )
            return
        if live and (previous.pk if previous else None) != agent.pk:
            self.loads.shift(previous.pk if previous else None, -1)
            self.loads.shift(agent.pk, +1)
        conv.assignee = agent
        self.loads.assigned(agent.pk, timezone.now())
        events.agent_assigned(conv, agent, reason=reason_prefix + reason, previous=previous)

    def finish(self, *, languages: dict[int, str] | None = None) -> None:
        """Write the conversations and the buyers' last message times and ``languages`` (the
        buyers whose language the batch changed, ``set_languages``). The agents' loads are
        the caller's last write of the transaction (``write_loads``)."""
        update_instances(
            [c for pk, c in self._touched.items() if pk not in self._unsaved], _CONVERSATION_FIELDS
        )
        # In id order, as they were drawn; every column as the batch leaves it.
        insert_instances(list(self._unsaved.values()), now=self.now, reserved=True)
        later: dict[int, dt.datetime] = {}
        for buyer_id, at in self._last_message.items():
            buyer = self.buyers[buyer_id]
            if buyer.last_message_at is None or buyer.last_message_at < at:
                buyer.last_message_at = at
                later[buyer_id] = at
        languages = languages or {}
        if connection.vendor == "postgresql" and len(set(later) | set(languages)) > 1:
            self._write_buyers(later, languages)
            return
        if later:
            update_instances([self.buyers[pk] for pk in later], ["last_message_at"])
        self.set_languages(languages)

    def _write_buyers(self, later: dict[int, dt.datetime], languages: dict[int, str]) -> None:
        """The buyers' last message times and languages in one ``UPDATE … FROM (VALUES …)``
        instead of one for the times and one per language value (decisions §96), the values
        as one array per column (§103). A column
        the batch did not change for a buyer is given as NULL and kept: the buyers' rows are
        not locked, and a write of the value read could undo a concurrent change."""
        table = Buyer._meta.db_table
        ids = sorted(set(later) | set(languages))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS b SET "  # noqa: S608 - the model's table
                "last_message_at = COALESCE(v.at, b.last_message_at), "
                "language = COALESCE(v.language, b.language) "
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v (id, at, language) "
                "WHERE b.id = v.id",
                [ids, [later.get(pk) for pk in ids], [languages.get(pk) for pk in ids]],
            )

    def write_loads(self) -> None:
        """The agents' load counters: call last before the commit. Two workers' batches
        route to the same least loaded agents, so the second one's write waits on the first
        one's presence rows until that commits; written last, the rows are held for the
        commit alone, not for the batch's events, replies and queue rows after them
        (decisions §88)."""
        self.loads.write()

    def set_languages(self, languages: dict[int, str]) -> None:
        """The buyers' languages where the batch's last message left another value than the
        one written (the webhook's language, then detection, as message by message)."""
        by_value: dict[str, list[int]] = {}
        for buyer_id, language in languages.items():
            by_value.setdefault(language, []).append(buyer_id)
        for language, ids in by_value.items():
            Buyer.objects.filter(pk__in=ids).update(language=language)
