"""Every conversation event kind is declared once and written by one function of events.py."""

from __future__ import annotations

import ast
from pathlib import Path

from kefu.conversations import events
from kefu.conversations.models import ConversationEvent, EventKind

KEFU = Path(events.__file__).resolve().parent.parent


def _kinds_written_by(function: ast.FunctionDef) -> set[str]:
    return {
        node.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "EventKind"
    }


def test_each_kind_has_exactly_one_writer():
    tree = ast.parse(Path(events.__file__).read_text())
    writers: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            for kind in _kinds_written_by(node):
                writers.setdefault(kind, []).append(node.name)

    assert set(writers) == {kind.name for kind in EventKind}
    assert {kind: names for kind, names in writers.items() if len(names) != 1} == {}


def test_no_module_but_events_writes_event_rows():
    offenders = []
    for path in KEFU.rglob("*.py"):
        if "migrations" in path.parts or path == Path(events.__file__).resolve():
            continue
        text = path.read_text()
        if "ConversationEvent.objects.create" in text or "events._record" in text:
            offenders.append(str(path.relative_to(KEFU)))

    assert offenders == []


def test_the_kind_column_only_takes_declared_kinds():
    field = ConversationEvent._meta.get_field("kind")

    assert [value for value, _ in field.choices] == EventKind.values
