"""The layer contract of decisions §20 holds, and it catches an upward import, even one
hidden inside a function body."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tool on our own tree
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_of_the_project(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "kefu", tree / "kefu", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_code_keeps_the_layer_order(tmp_path):
    result = _lint_imports(_copy_of_the_project(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Domains import only downward KEPT" in result.stdout


def test_a_function_local_upward_import_breaks_the_contract(tmp_path):
    tree = _copy_of_the_project(tmp_path)
    marks = tree / "kefu" / "conversations" / "marks.py"
    marks.write_text(
        marks.read_text()
        + "\n\ndef _sneaky() -> None:\n    from kefu.orders.models import Order  # noqa\n"
    )

    result = _lint_imports(tree)

    assert result.returncode != 0
    assert "kefu.conversations is not allowed to import kefu.orders" in result.stdout
    assert "kefu.conversations.marks -> kefu.orders.models" in result.stdout


def test_domain_code_cannot_import_a_page_module(tmp_path):
    tree = _copy_of_the_project(tmp_path)
    selectors = tree / "kefu" / "orders" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom kefu.orders import views  # noqa\n")

    result = _lint_imports(tree)

    assert result.returncode != 0
    assert "Only entry modules import entry modules BROKEN" in result.stdout
