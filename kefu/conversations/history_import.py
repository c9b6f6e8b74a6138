"""The message-history import (`kefu import messages`): JSONL lines to buyers, conversations
and messages, stored as plain history rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q

from kefu.accounts.models import Shop, User
from kefu.conversations.buyers import BuyerIn, upsert_buyers
from kefu.conversations.models import (
    Buyer,
    Conversation,
    ConversationStatus,
    Direction,
    EntryPoint,
    ImportedConversation,
    Message,
)
from kefu.conversations.routing import group_for_entry_point
from kefu.core.after_import import after_import
from kefu.core.controls import loads_clean
from kefu.core.filelimits import FileLimitError, check_file_size, check_text_lines, import_limits
from kefu.integrations.channels import Channel


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not JSONL, unreadable)."""


@dataclass
class MessageImportSummary:
    lines: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)
    conversations_created: int = 0
    buyers_created: int = 0
    ignored_fields: list[str] = field(default_factory=list)  # keys no line's field is read from
    notes: list[str] = field(default_factory=list)  # from the after-import hooks (figures)

    def ignore(self, keys: Any) -> None:
        for key in keys:
            fresh = key not in KNOWN_FIELDS and key not in self.ignored_fields
            if fresh and len(self.ignored_fields) < 100:
                self.ignored_fields.append(str(key))

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < 100:
            self.rejections.append((line, reason))


@dataclass(frozen=True)
class _Line:
    no: int
    external_id: str
    buyer: str
    direction: str
    author: User | None
    sent_at: dt.datetime
    text: str
    entry_point: str | None
    conversation: str | None


KNOWN_FIELDS = frozenset(
    {
        "external_id",
        "buyer_external_id",
        "direction",
        "agent",
        "sent_at",
        "text",
        "entry_point",
        "conversation_external_id",
    }
)
IMPORT_DIRECTIONS = {"buyer": Direction.BUYER, "agent": Direction.AGENT, "auto": Direction.AUTO}


def _parse_line(no: int, obj: Any, logins: dict[str, User]) -> _Line:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")

    def text_field(name: str, required: bool = True, limit: int = 120) -> str | None:
        value = obj.get(name)
        if value is None or value == "":
            if required:
                raise ValueError(f"missing {name}")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        value = value.strip()
        if not value and required:
            raise ValueError(f"missing {name}")
        if len(value) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
        return value or None

    external_id = text_field("external_id")
    buyer = text_field("buyer_external_id")
    raw_direction = obj.get("direction")
    if raw_direction not in IMPORT_DIRECTIONS:
        raise ValueError("direction must be buyer, agent or auto")
    direction = IMPORT_DIRECTIONS[raw_direction]
    author = None
    if direction == Direction.AGENT:
        login = text_field("agent", limit=150)
        author = logins.get(login or "")
        if author is None:
            raise ValueError(f"unknown agent login {login!r}")
    raw_time = obj.get("sent_at")
    if not isinstance(raw_time, str):
        raise ValueError("missing sent_at")
    try:
        sent_at = dt.datetime.fromisoformat(raw_time.strip())
    except ValueError as exc:
        raise ValueError(f"sent_at {raw_time!r} is not ISO-8601") from exc
    if sent_at.tzinfo is None:
        raise ValueError("sent_at needs a time zone offset")
    text = text_field("text", limit=settings.KEFU_MAX_MESSAGE_CHARS)
    entry_point = text_field("entry_point", required=False, limit=20)
    if entry_point is not None and entry_point not in EntryPoint.values:
        raise ValueError(f"unknown entry_point {entry_point!r}")
    conversation = text_field("conversation_external_id", required=False, limit=180)
    if external_id is None or buyer is None or text is None:  # required above: never
        raise ValueError("missing field")
    return _Line(
        no, external_id, buyer, direction, author, sent_at, text, entry_point, conversation
    )


def _line_cap() -> int:
    """The longest line read, in bytes: a message at its limit, every character escaped."""
    longest = max(settings.KEFU_MAX_MESSAGE_CHARS, settings.KEFU_IMPORT_MAX_CELL_CHARS)
    return longest * 6 + 4096


def _sniff(path: Path) -> None:
    try:
        with path.open("rb") as f:
            for no, raw in _physical_lines(f, _line_cap()):
                if raw is None:
                    raise ImportFileError(
                        f"{path.name} is not JSONL: line {no} is longer than any message"
                    )
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8-sig"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise ImportFileError(
                        f"{path.name} is not JSONL: line {no} is not a JSON object "
                        "(expected one JSON object per line)"
                    ) from exc
                if not isinstance(obj, dict):
                    raise ImportFileError(
                        f"{path.name} is not JSONL: line {no} is not a JSON object"
                    )
                return
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror}") from exc
    raise ImportFileError(f"{path.name} is empty")


def _physical_lines(f: Any, cap: int) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines of at most `cap` bytes; a longer line is passed over unread (None)."""
    no = 0
    while raw := f.readline(cap + 1):
        no += 1
        if len(raw) > cap and not raw.endswith(b"\n"):
            while (rest := f.readline(cap)) and not rest.endswith(b"\n"):
                pass
            yield no, None
            continue
        yield no, raw


def _read_lines(path: Path) -> Iterator[tuple[int, int, bytes | None]]:
    with path.open("rb") as f:
        for no, raw in _physical_lines(f, _line_cap()):
            yield no, f.tell(), raw


Progress = Callable[[int, int, MessageImportSummary], None]


def import_messages(
    *, shop: Shop, path: str | Path, progress: Progress | None = None, batch_size: int = 1000
) -> MessageImportSummary:
    """Import message history from JSONL, idempotent on ``external_id`` (unique per shop).

    History is stored as plain rows: no routing, automatic replies or deliveries. Every
    non-blank line ends in one count: created, duplicate or rejected (with its reason); a
    line the database refuses is rejected alone, the rest of its batch stored. Files over the
    import limits (size, lines) are refused as a whole. The metrics refresh picks the rows up.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"cannot read {path}: No such file or directory")
    try:
        limits = import_limits()
        check_file_size(path, limits)
        check_text_lines(path, limits)
    except FileLimitError as exc:
        raise ImportFileError(str(exc)) from exc
    _sniff(path)
    total = path.stat().st_size
    logins = {u.username: u for u in User.objects.filter(shop=shop)}
    summary = MessageImportSummary()
    state = _ImportState()
    batch: list[_Line] = []
    done = 0
    for no, done, raw in _read_lines(path):
        if raw is None:
            summary.lines += 1
            summary.reject(no, f"the line is longer than {_line_cap()} bytes")
            continue
        if not raw.strip():
            continue
        summary.lines += 1
        try:
            obj = loads_clean(raw.decode("utf-8-sig"))
            if isinstance(obj, dict):
                summary.ignore(obj.keys())
            batch.append(_parse_line(no, obj, logins))
        except UnicodeDecodeError:
            summary.reject(no, "not UTF-8 text")
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else "invalid JSON"
            summary.reject(no, reason)
        if len(batch) >= batch_size:
            _store_or_isolate(shop, batch, summary, state)
            batch = []
            if progress is not None:
                progress(done, total, summary)
    if batch:
        _store_or_isolate(shop, batch, summary, state)
    if progress is not None:
        progress(total, total, summary)
    if summary.created:
        summary.notes = after_import(shop=shop)
    return summary


@dataclass
class _ImportState:
    # The conversation a buyer's previous line went to: lines without entry point follow it.
    last_conversation: dict[str, str] = field(default_factory=dict)


def _store_or_isolate(
    shop: Shop, lines: list[_Line], summary: MessageImportSummary, state: _ImportState
) -> None:
    """Store a batch; if the database refuses it, halve it until the refused lines are found
    and reject them with the database's reason, so one bad line never costs the others."""
    before = (
        summary.created,
        summary.duplicates,
        summary.buyers_created,
        summary.conversations_created,
    )
    try:
        _store_batch(shop, lines, summary, state)
        return
    except DatabaseError as exc:
        # The batch's transaction was rolled back: so are its counts.
        (
            summary.created,
            summary.duplicates,
            summary.buyers_created,
            summary.conversations_created,
        ) = before
        if len(lines) == 1:
            summary.reject(lines[0].no, f"the database refused the line: {exc}"[:200])
            return
    half = len(lines) // 2
    _store_or_isolate(shop, lines[:half], summary, state)
    _store_or_isolate(shop, lines[half:], summary, state)


def _store_batch(
    shop: Shop, lines: list[_Line], summary: MessageImportSummary, state: _ImportState
) -> None:
    seen: set[str] = set()
    fresh: list[_Line] = []
    existing = set(
        Message.objects.filter(
            shop=shop, external_id__in=[ln.external_id for ln in lines]
        ).values_list("external_id", flat=True)
    )
    for ln in lines:
        if ln.external_id in existing or ln.external_id in seen:
            summary.duplicates += 1
            continue
        seen.add(ln.external_id)
        fresh.append(ln)
    if not fresh:
        return
    with transaction.atomic():
        buyers = _import_buyers(shop, fresh, summary)
        conv_keys: dict[int, str] = {}
        groups: dict[str, str] = {}
        for ln in fresh:
            if ln.conversation:
                key = "c:" + ln.conversation
            elif ln.entry_point:
                key = f"b:{ln.buyer}:{group_for_entry_point(ln.entry_point)}"
            else:
                key = state.last_conversation.get(ln.buyer, f"b:{ln.buyer}:pre_sale")
            state.last_conversation[ln.buyer] = key
            conv_keys[ln.no] = key
            if key not in groups:
                groups[key] = (
                    group_for_entry_point(ln.entry_point)
                    if ln.entry_point
                    else key.rsplit(":", 1)[-1]
                    if key.startswith("b:")
                    else "pre_sale"
                )
        convs = _import_conversations(shop, fresh, conv_keys, groups, buyers, summary)
        messages = [
            Message(
                shop=shop,
                conversation=convs[conv_keys[ln.no]],
                buyer_id=buyers[ln.buyer],
                direction=ln.direction,
                text=ln.text,
                author=ln.author,
                external_id=ln.external_id,
                sent_at=ln.sent_at,
                payload={"automation": "import", "imported": True}
                if ln.direction == Direction.AUTO
                else {"imported": True},
            )
            for ln in fresh
        ]
        Message.objects.bulk_create(messages, batch_size=500, ignore_conflicts=True)
        summary.created += len(messages)
        latest: dict[str, dt.datetime] = {}
        for ln in fresh:
            if ln.direction == Direction.BUYER and (
                ln.buyer not in latest or ln.sent_at > latest[ln.buyer]
            ):
                latest[ln.buyer] = ln.sent_at
        for ext, at in latest.items():
            Buyer.objects.filter(pk=buyers[ext]).filter(
                Q(last_message_at__isnull=True) | Q(last_message_at__lt=at)
            ).update(last_message_at=at)


def _import_buyers(shop: Shop, lines: list[_Line], summary: MessageImportSummary) -> dict[str, int]:
    """Buyer ids by external id; buyers the shop already knows are left as they are."""
    seen = [(BuyerIn(external_id=ln.buyer), ln.sent_at) for ln in lines]
    known = set(
        Buyer.objects.filter(shop=shop, external_id__in={ln.buyer for ln in lines}).values_list(
            "external_id", flat=True
        )
    )
    ids = upsert_buyers(shop=shop, seen=seen)
    summary.buyers_created += len(ids.keys() - known)
    return ids


def _import_conversations(
    shop: Shop,
    lines: list[_Line],
    conv_keys: dict[int, str],
    groups: dict[str, str],
    buyers: dict[str, int],
    summary: MessageImportSummary,
) -> dict[str, Conversation]:
    span: dict[str, tuple[dt.datetime, dt.datetime, _Line]] = {}
    for ln in lines:
        key = conv_keys[ln.no]
        lo, hi, first = span.get(key, (ln.sent_at, ln.sent_at, ln))
        span[key] = (min(lo, ln.sent_at), max(hi, ln.sent_at), first)
    known = {
        ic.external_id: ic.conversation
        for ic in ImportedConversation.objects.filter(
            shop=shop, external_id__in=list(span)
        ).select_related("conversation")
    }
    out: dict[str, Conversation] = {}
    for key, (lo, hi, first) in span.items():
        conv = known.get(key)
        if conv is None:
            # History is closed: resolved, so it never blocks the buyer's live conversation.
            conv = Conversation.objects.create(
                shop=shop,
                buyer_id=buyers[first.buyer],
                channel=Channel.MARKETPLACE,
                entry_point=first.entry_point or EntryPoint.SHOP_PAGE,
                group=groups[key],
                status=ConversationStatus.RESOLVED,
                last_message_at=hi,
                last_message_preview=first.text[:160],
                opened_at=lo,
                resolved_at=hi,
            )
            ImportedConversation.objects.create(shop=shop, external_id=key, conversation=conv)
            summary.conversations_created += 1
        else:
            changed = []
            if lo < conv.opened_at:
                conv.opened_at = lo
                changed.append("opened_at")
            if hi > conv.last_message_at:
                conv.last_message_at = hi
                changed.append("last_message_at")
            if changed:
                conv.save(update_fields=changed)
        out[key] = conv
    return out
