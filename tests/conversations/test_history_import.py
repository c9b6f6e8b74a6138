"""`kefu import messages` (kefu.conversations.history_import): idempotent history import
that feeds the metrics."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone, translation

from kefu.cli import main as kefu
from kefu.conversations.history_import import ImportFileError, import_messages
from kefu.conversations.models import Conversation, ImportedConversation, Message, Outbox
from kefu.metrics import refresh, selectors

LINES = [
    {
        "external_id": "x1",
        "buyer_external_id": "ivan",
        "direction": "buyer",
        "sent_at": "2026-03-02T10:00:00+08:00",
        "text": "Is it in stock?",
        "entry_point": "product_page",
        "conversation_external_id": "c-1",
    },
    {
        "external_id": "x2",
        "buyer_external_id": "ivan",
        "direction": "auto",
        "sent_at": "2026-03-02T10:00:01+08:00",
        "text": "Welcome!",
        "conversation_external_id": "c-1",
    },
    {
        "external_id": "x3",
        "buyer_external_id": "ivan",
        "direction": "agent",
        "agent": "lily",
        "sent_at": "2026-03-02T02:05:00Z",
        "text": "Yes, 40 left",
        "conversation_external_id": "c-1",
    },
    {
        "external_id": "x4",
        "buyer_external_id": "olga",
        "direction": "buyer",
        "sent_at": "2026-03-02T23:30:00+08:00",
        "text": "Where is my parcel?",
        "entry_point": "order_detail",
    },
]


def _write(tmp_path, lines, name="history.jsonl"):
    path = tmp_path / name
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
        + "\n",
        encoding="utf-8",
    )
    return path


def test_import_stores_rows_without_side_effects_and_feeds_metrics(
    shop, pre_agent, tmp_path, capsys
):
    path = _write(tmp_path, LINES)
    assert kefu(["import", "messages", str(path), "--shop", "aurora"]) == 0
    out = capsys.readouterr()
    assert "created 4, skipped duplicates 0, rejected 0" in out.out
    assert "100%" in out.err
    assert Message.objects.filter(shop=shop).count() == 4
    assert Outbox.objects.count() == 0  # nothing is delivered
    assert Conversation.objects.filter(shop=shop).count() == 2
    olga = Conversation.objects.get(buyer__external_id="olga")
    assert (olga.group, olga.status, olga.assignee) == ("after_sale", "resolved", None)
    reply = Message.objects.get(external_id="x3")
    assert (reply.author, reply.conversation.group) == (pre_agent, "pre_sale")
    refresh.refresh_shop(shop=shop, now=timezone.now())
    total = selectors.report(shop=shop, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2)).total
    assert (total["reception_count"], total["replied_buyers"], total["messages_received"]) == (
        2,
        1,
        2,
    )
    assert total["first_response_seconds"] == 300.0


def test_import_is_idempotent(shop, pre_agent, tmp_path, capsys):
    path = _write(tmp_path, LINES)
    kefu(["import", "messages", str(path), "--shop", "aurora", "--quiet"])
    capsys.readouterr()
    assert kefu(["import", "messages", str(path), "--shop", "aurora", "--quiet"]) == 0
    assert "created 0, skipped duplicates 4, rejected 0" in capsys.readouterr().out
    assert Message.objects.filter(shop=shop).count() == 4
    assert Conversation.objects.filter(shop=shop).count() == 2


def test_bad_lines_are_reported_and_good_ones_kept(shop, pre_agent, tmp_path, capsys):
    good = LINES[0]
    lines = [
        good,
        "{not json",
        {**good, "external_id": "y1", "direction": "robot"},
        {**good, "external_id": "y2", "sent_at": "2026-03-02T10:00:00"},
        {**good, "external_id": "y3", "direction": "agent", "agent": "ghost"},
        {**good, "external_id": "y4", "text": ""},
        [1, 2],
        {**good, "external_id": "x1"},  # duplicate inside the file
        {**good, "external_id": "y5", "entry_point": "moon"},
        {**good, "external_id": "ok2"},
    ]
    path = _write(tmp_path, lines)
    # Rejected lines (the others stored): the documented exit code 3.
    assert kefu(["import", "messages", str(path), "--shop", "aurora", "--quiet"]) == 3
    out = capsys.readouterr().out
    assert "10 lines -> created 2, skipped duplicates 1, rejected 7" in out
    assert "line 2: invalid JSON" in out
    assert "line 3: direction must be buyer, agent or auto" in out
    assert "line 4: sent_at needs a time zone offset" in out
    assert "line 5: unknown agent login 'ghost'" in out
    assert "line 6: missing text" in out
    assert "line 7: not a JSON object" in out
    assert "line 9: unknown entry_point 'moon'" in out
    assert set(Message.objects.values_list("external_id", flat=True)) == {"x1", "ok2"}


def test_a_file_that_is_not_jsonl_is_refused(shop, tmp_path, capsys):
    csv = tmp_path / "orders.csv"
    csv.write_text("订单编号,买家会员名\n1,ivan\n", encoding="utf-8")
    assert kefu(["import", "messages", str(csv), "--shop", "aurora"]) == 2
    assert "is not JSONL" in capsys.readouterr().err
    xlsx = tmp_path / "x.xlsx"
    xlsx.write_bytes(b"PK\x03\x04\x14\x00\x06\x00binary")
    assert kefu(["import", "messages", str(xlsx), "--shop", "aurora"]) == 2
    assert "is not JSONL" in capsys.readouterr().err
    assert kefu(["import", "messages", str(tmp_path / "missing.jsonl"), "--shop", "aurora"]) == 2
    assert Message.objects.count() == 0


def test_a_later_file_continues_the_conversations_it_names(shop, pre_agent, tmp_path):
    first = import_messages(shop=shop, path=_write(tmp_path, LINES[:2], "a.jsonl"))
    assert (first.created, first.buyers_created, first.conversations_created) == (2, 1, 1)
    calls: list[tuple[int, int]] = []
    later = {**LINES[2], "external_id": "x9", "sent_at": "2026-03-03T09:00:00+08:00"}
    second = import_messages(
        shop=shop,
        path=_write(tmp_path, [LINES[2], later], "b.jsonl"),
        progress=lambda done, total, _summary: calls.append((done, total)),
    )
    assert (second.created, second.buyers_created, second.conversations_created) == (2, 0, 0)
    assert calls[-1][0] == calls[-1][1] > 0  # the last call reports the whole file
    conv = ImportedConversation.objects.get(shop=shop, external_id="c:c-1").conversation
    assert conv.messages.count() == 4
    assert conv.last_message_at == dt.datetime.fromisoformat(later["sent_at"])
    assert ImportedConversation.objects.count() == 1


def test_an_empty_file_is_refused_as_a_whole(shop, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"empty\.jsonl is empty"):
        import_messages(shop=shop, path=empty)


def test_a_line_the_database_refuses_costs_no_other_line(
    shop, pre_agent, tmp_path, capsys, monkeypatch
):
    from django.db import DataError

    real_bulk_create = Message.objects.bulk_create

    def refuse_poison(messages, *args, **kwargs):
        if any(m.text == "poison" for m in messages):
            raise DataError("value too long for the column")
        return real_bulk_create(messages, *args, **kwargs)

    monkeypatch.setattr(Message.objects, "bulk_create", refuse_poison)
    lines = [
        {**LINES[0], "external_id": f"m{n}", "text": "poison" if n == 3 else f"hello {n}"}
        for n in range(7)
    ]
    path = _write(tmp_path, lines)

    summary = import_messages(shop=shop, path=path, batch_size=4)

    assert (summary.lines, summary.created, summary.duplicates, summary.rejected) == (7, 6, 0, 1)
    assert summary.rejections == [
        (4, "the database refused the line: value too long for the column")
    ]
    assert Message.objects.filter(shop=shop).count() == 6


def test_an_overlong_line_is_rejected_and_the_lines_around_it_kept(
    shop, pre_agent, tmp_path, settings
):
    settings.KEFU_MAX_MESSAGE_CHARS = 100
    settings.KEFU_IMPORT_MAX_CELL_CHARS = 100
    huge = json.dumps({**LINES[0], "external_id": "big", "text": "x" * 20_000})
    path = _write(tmp_path, [LINES[0], huge, {**LINES[0], "external_id": "after"}])

    summary = import_messages(shop=shop, path=path)

    assert (summary.lines, summary.created, summary.rejected) == (3, 2, 1)
    assert summary.rejections == [(2, "the line is longer than 4696 bytes")]
    assert set(Message.objects.values_list("external_id", flat=True)) == {"x1", "after"}


def test_a_history_file_over_the_limits_is_refused_as_a_whole(shop, tmp_path, settings):
    settings.KEFU_IMPORT_MAX_ROWS = 3
    path = _write(tmp_path, [{**LINES[0], "external_id": f"r{n}"} for n in range(5)])

    with translation.override("en"):
        with pytest.raises(ImportFileError, match="has more than 3 rows"):
            import_messages(shop=shop, path=path)
        settings.KEFU_IMPORT_MAX_UPLOAD_BYTES = 100
        with pytest.raises(ImportFileError, match="the limit is 100 bytes"):
            import_messages(shop=shop, path=path)
    assert Message.objects.count() == 0
