"""Builds the rule guard's hot modules with mypyc; everything else is in pyproject.toml.

The compiled modules are the same .py files the interpreter runs (decisions: "The rule guard's
hot path is compiled with mypyc"). A build that cannot compile them fails: a guard silently
three times slower would make the documented speed untrue. ``KEFU_GUARD_INTERPRETED=1`` at
install time skips the compilation on purpose (and at run time ignores a compiled build).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
# Keep in step with kefu/compliance/native.py (COMPILED); a test checks they agree.
GUARD_MODULES = ("textview", "sentences", "prescan", "hits", "model", "scanner")
SOURCES = [f"kefu/compliance/{name}.py" for name in GUARD_MODULES]
# The interpreted modules the compiled ones import: their types (a pattern tuple's length, a
# dataclass's fields) are baked into the build, so an edit there makes the build stale too.
# Keep in step with kefu/compliance/native.py (STAMPED).
STAMPED = (*GUARD_MODULES, "patterns", "concepts", "anchors", "rules", "verdict", "packs")
# Plain C extensions of the guard (kefu/compliance/NAME.c), built and stamped with the mypyc
# modules; each has a pure-Python twin the sources run (decisions: "The rule guard's text
# view, sentence split and scan bookkeeping in C").
# Keep in step with kefu/compliance/native.py (NATIVE).
NATIVE = ("_fastview",)


class _BuildWithStamp(build_ext):
    """Also records the hash of each compiled source and of what it imports next to the build,
    so that an editable install whose sources changed after the build runs the sources
    instead (kefu.compliance.native)."""

    def run(self) -> None:
        super().run()
        stamp = {
            name: hashlib.sha256((HERE / f"kefu/compliance/{name}.py").read_bytes()).hexdigest()
            for name in STAMPED
        }
        for name in NATIVE:
            source = HERE / f"kefu/compliance/{name}.c"
            stamp[name + ".c"] = hashlib.sha256(source.read_bytes()).hexdigest()
        body = json.dumps(stamp, indent=1, sort_keys=True) + "\n"
        root = HERE if self.inplace else Path(self.build_lib)
        target = root / "kefu/compliance/_compiled.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)


def _ext_modules() -> list[object]:
    if os.environ.get("KEFU_GUARD_INTERPRETED") == "1":
        return []
    from mypyc.build import mypycify

    native = [
        Extension(
            f"kefu.compliance.{name}",
            [f"kefu/compliance/{name}.c"],
            extra_compile_args=["-O2"],
        )
        for name in NATIVE
    ]
    return native + list(
        mypycify(
            # Not the project's mypy settings: their Django plugin and stubs are not in the
            # isolated build environment, and `make lint` type-checks the code anyway. Imports
            # without types there (ahocorasick_rs, phonenumbers) stay dynamic calls.
            [
                "--config-file",
                os.devnull,
                "--ignore-missing-imports",
                "--follow-imports=silent",
                *SOURCES,
            ],
            opt_level="3",
            # The shared runtime lands inside the package, not at the top of site-packages.
            group_name="kefu.compliance._guard",
        )
    )


setup(ext_modules=_ext_modules(), cmdclass={"build_ext": _BuildWithStamp})
