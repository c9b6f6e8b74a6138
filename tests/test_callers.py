"""Every public function of domain code has a caller in production code.

A service, selector or hook that only tests call is a feature that silently does nothing: the
script report's "ordered after" column stayed 0 for weeks because the orders domain never
called the automation outcome it was meant to feed. Entry modules (pages, API, CLI) are
called by the framework, so only what they and domain code call counts.
"""

from __future__ import annotations

import ast
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
    "ws_urls",
    "asgi",
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


def _public_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    ]


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            names.update(alias.name for alias in node.names)
    return names


def _dotted_strings() -> set[str]:
    """Functions named in settings-style strings ("kefu.core.context.workbench")."""
    found: set[str] = set()
    for path in KEFU.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("kefu.")
                and " " not in node.value
            ):
                found.add(node.value)
    return found


def _used(path: Path, name: str, usage: dict[Path, set[str]], dotted: set[str]) -> bool:
    if any(name in names for other, names in usage.items() if other != path):
        return True
    module = ".".join(path.relative_to(KEFU.parent).with_suffix("").parts)
    if f"{module}.{name}" in dotted:
        return True
    # Referenced in its own module (a model field's default or validator, a helper called
    # by a sibling function) counts; the definition itself does not.
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.Name) and node.id == name for node in ast.walk(tree))


def test_every_public_domain_function_has_a_production_caller():
    usage = {path: _names_used(path) for path in KEFU.rglob("*.py")}
    dotted = _dotted_strings()
    orphans = [
        ".".join(path.relative_to(KEFU.parent).with_suffix("").parts) + f".{name}"
        for path in _domain_modules()
        for name in _public_functions(path)
        if not _used(path, name, usage, dotted)
    ]

    assert orphans == []
