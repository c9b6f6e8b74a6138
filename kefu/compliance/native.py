"""Whether the rule guard runs compiled, and a safe way back to its sources.

setup.py compiles the guard's hot modules with mypyc (decisions: "The rule guard's hot path is
compiled with mypyc"). An editable install keeps the compiled modules next to their sources, so
a source edited after the build would silently lose to its stale build. Before any of them is
imported, `select_build` compares each source with the hash recorded at build time; if one
differs (or ``KEFU_GUARD_INTERPRETED=1``), all of them load from source: a group of compiled
modules calls itself directly, so compiled and interpreted ones cannot be mixed.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# Keep in step with setup.py (GUARD_MODULES, STAMPED).
COMPILED = ("textview", "sentences", "prescan", "hits", "model", "scanner")
# The compiled modules and the interpreted ones they import: the build bakes in the latter's
# types (a pattern tuple's length), so a pattern added after the build would fail at import
# with a TypeError instead of running the sources.
STAMPED = (*COMPILED, "patterns", "concepts", "anchors", "rules", "verdict", "packs")
# Plain C extensions (NAME.c beside the sources), built and stamped with the compiled modules
# and used only by a compiled build; the sources run their pure-Python twins.
NATIVE = ("_fastview",)
_PACKAGE = "kefu.compliance"
_HERE = Path(__file__).resolve().parent


def _built(name: str) -> bool:
    return any(
        (_HERE / (name + suffix)).exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def stale_sources() -> list[str]:
    """The guard's modules whose source is not the one the build was made from."""
    try:
        stamp = json.loads((_HERE / "_compiled.json").read_text())
    except (OSError, ValueError):
        stamp = {}
    sources = [(name, name + ".py") for name in STAMPED] + [
        (name + ".c", name + ".c") for name in NATIVE
    ]
    return [
        name
        for name, source in sources
        if stamp.get(name) != hashlib.sha256((_HERE / source).read_bytes()).hexdigest()
    ]


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the guard's modules as .py files even where a compiled build sits beside them."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(
            fullname, _HERE / (fullname.rpartition(".")[2] + ".py")
        )


_selected: list[str] = []


def fast_module() -> ModuleType | None:
    """The C extension (_fastview) when the guard runs its compiled build, else None: the
    sources run the extension's pure-Python twins, so compiled and interpreted verdicts can be
    compared (tests/compliance/test_native.py)."""
    if _selected != ["compiled"]:
        return None
    try:
        return importlib.import_module(f"{_PACKAGE}._fastview")
    except ImportError:
        return None


def select_build() -> str:
    """ "compiled", "interpreted" (no build), or "source" (a build ignored); called once by the
    package's __init__, before any guard module is imported."""
    if not all(_built(name) for name in (*COMPILED, *NATIVE)):
        return "interpreted"
    if os.environ.get("KEFU_GUARD_INTERPRETED") == "1":
        reason = None
    else:
        stale = stale_sources()
        if not stale:
            _selected[:] = ["compiled"]
            return "compiled"
        reason = (
            f"the rule guard's compiled build is older than {', '.join(stale)}.py; running the "
            "sources (slower) — `pip install -e .` (or `make install`) compiles them again"
        )
    if reason is not None:
        warnings.warn(reason, RuntimeWarning, stacklevel=2)
    sys.meta_path.insert(0, _FromSource(frozenset(f"{_PACKAGE}.{n}" for n in COMPILED)))
    return "source"
