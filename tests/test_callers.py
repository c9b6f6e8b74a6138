"""Every public function of domain code has a caller in production code.

A service, selector or hook that only tests call is a feature that silently does nothing: the
script report's "ordered after" column stayed 0 for weeks because the orders domain never
called the automation outcome it was meant to feed. Entry modules (pages, API, CLI) are
called by the framework, so only what they and domain code call counts.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import kefu

KEFU = Path(kefu.__file__).resolve().parent

# Modules the framework calls into: their functions need no caller of ours.
ENTRY_MODULES = {
    "api",
    "views",
    "urls",
    "cli",
    "apps",
    "admin",
    "consumers",
    "mark_views",
    "widget_views",
    "review_views",
    "review_api",
    "invitation_api",  # kefu.outreach: routes mounted beside the campaign API
    "followup_views",
    "followup_api",
    "ws_urls",
    "asgi",
    "intake_wsgi",  # granian loads it (kefu run --intake-port)
    "celery",
    "settings",
    "tasks",
    "demo",
    "seed",
    "forms",
}
SKIPPED_PARTS = {"migrations", "templatetags", "data"}


def _domain_modules() -> list[Path]:
    found = []
    for path in sorted(KEFU.rglob("*.py")):
        rel = path.relative_to(KEFU)
        inside_entry_package = any(part in ENTRY_MODULES for part in rel.parts[:-1])
        if SKIPPED_PARTS & set(rel.parts) or path.stem in ENTRY_MODULES or inside_entry_package:
            continue
        if path.stem == "__init__":
            continue
        found.append(path)
    return found


@dataclass(frozen=True)
class _Module:
    """What one source file defines and mentions, read once."""

    public_functions: list[str]
    names: set[str]  # bare names it loads (calls, references)
    attributes: set[str]  # `x.name` and `from x import name`
    dotted: set[str]  # settings-style strings such as "kefu.core.context.workbench"


def _read(path: Path) -> _Module:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    attributes: set[str] = set()
    dotted: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            attributes.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            attributes.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("kefu.")
            and " " not in node.value
        ):
            dotted.add(node.value)
    public = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    ]
    return _Module(public, names, attributes, dotted)


def test_every_public_domain_function_has_a_production_caller():
    modules = {path: _read(path) for path in KEFU.rglob("*.py")}
    dotted = set().union(*(m.dotted for m in modules.values()))
    orphans = []
    for path in _domain_modules():
        dotted_name = ".".join(path.relative_to(KEFU.parent).with_suffix("").parts)
        for name in modules[path].public_functions:
            elsewhere = any(
                name in m.names or name in m.attributes
                for other, m in modules.items()
                if other != path
            )
            # Referenced in its own module (a model field's default or validator, a helper
            # called by a sibling function) counts; the definition itself does not.
            if not (elsewhere or name in modules[path].names or f"{dotted_name}.{name}" in dotted):
                orphans.append(f"{dotted_name}.{name}")

    assert orphans == []
