"""The rule guard's compiled build (setup.py, kefu.compliance.native)."""

from __future__ import annotations

import ast
import gc
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kefu.compliance
from kefu.compliance import native

ROOT = Path(__file__).resolve().parents[2]


def test_setup_compiles_the_modules_the_loader_checks():
    tree = ast.parse((ROOT / "setup.py").read_text())
    assigned = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "GUARD_MODULES"
    }
    assert assigned["GUARD_MODULES"] == native.COMPILED
    stamped = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "STAMPED"
    )
    # (*GUARD_MODULES, "patterns", ...): the names after the star are the imported modules.
    assert isinstance(stamped, ast.Tuple)
    extra = tuple(ast.literal_eval(e) for e in stamped.elts if not isinstance(e, ast.Starred))
    assert (*native.COMPILED, *extra) == native.STAMPED
    c_modules = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "NATIVE"
    )
    assert ast.literal_eval(c_modules) == native.NATIVE


@pytest.mark.skipif(
    os.environ.get("KEFU_GUARD_INTERPRETED") == "1", reason="interpreted on purpose"
)
def test_the_guard_runs_compiled_and_current():
    # `make install` / `pip install -e .` compile it; stale or missing shows here first.
    assert kefu.compliance.BUILD == "compiled", native.stale_sources()
    import importlib

    # Every module of the group, the n-gram model's scoring included (decisions §87): one left
    # interpreted costs its share of every check without failing anything else.
    for name in native.COMPILED:
        module = importlib.import_module(f"kefu.compliance.{name}")
        assert not module.__file__.endswith(".py"), name
    assert native.fast_module() is not None
    # Compiled, model.py has no __file__ while it is imported: its weights are found beside
    # the package's interpreted modules instead, and must still be the shipped file.
    from kefu.compliance import model

    assert model.MODEL_PATH == ROOT / "kefu/compliance/model.json"
    assert model.load_model().codes


def test_an_edited_source_is_noticed(tmp_path, monkeypatch):
    for name in native.STAMPED:
        shutil.copy(Path(native.__file__).parent / f"{name}.py", tmp_path / f"{name}.py")
    for name in native.NATIVE:
        shutil.copy(Path(native.__file__).parent / f"{name}.c", tmp_path / f"{name}.c")
    stamp = {
        name: hashlib.sha256((tmp_path / f"{name}.py").read_bytes()).hexdigest()
        for name in native.STAMPED
    }
    stamp |= {
        f"{name}.c": hashlib.sha256((tmp_path / f"{name}.c").read_bytes()).hexdigest()
        for name in native.NATIVE
    }
    (tmp_path / "_compiled.json").write_text(json.dumps(stamp))
    monkeypatch.setattr(native, "_HERE", tmp_path)
    assert native.stale_sources() == []
    with (tmp_path / "hits.py").open("a") as f:
        f.write("# edited after the build\n")
    assert native.stale_sources() == ["hits"]
    # A pattern added to the data is a stale build too (the build typed the pattern tuples).
    with (tmp_path / "patterns.py").open("a") as f:
        f.write("# a pattern added after the build\n")
    assert native.stale_sources() == ["hits", "patterns"]
    # So is an edited C extension (the build would run its old code).
    with (tmp_path / "_fastview.c").open("a") as f:
        f.write("/* edited after the build */\n")
    assert native.stale_sources() == ["hits", "patterns", "_fastview.c"]
    (tmp_path / "_compiled.json").unlink()
    assert native.stale_sources() == [
        *native.STAMPED,
        *(f"{name}.c" for name in native.NATIVE),
    ]


def test_interpreted_on_request_gives_the_same_verdicts():
    script = (
        "import json, kefu.compliance as c\n"
        "from kefu.compliance import scanner as s\n"
        "ctx = s.CheckContext(free_shipping=True, recipient_is_paying_buyer=False)\n"
        "texts = ['新疆要补15元运费，加我微信 kefu123', '发票可以开，金额和实付一致。', "
        "'Pay by card and we add a 3% fee.', '收件人张三，电话13812345678']\n"
        "print(json.dumps([c.BUILD, s.__file__.endswith('.py'), "
        "[s.judge(t, context=ctx).as_dict() for t in texts]]))\n"
    )
    runs = {}
    for flag in ("0", "1"):
        env = {**os.environ, "KEFU_GUARD_INTERPRETED": flag}
        out = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        runs[flag] = json.loads(out.stdout)
    assert runs["1"][:2] == ["source", True] or runs["1"][:2] == ["interpreted", True]
    assert runs["0"][2] == runs["1"][2]
    assert any(v["verdict"] == "block" for v in runs["1"][2])


@pytest.mark.skipif(native.fast_module() is None, reason="the C extension runs in a compiled build")
def test_the_c_extension_gives_what_its_python_twins_give():
    # _fastview.c re-implements the view, the sentence split, the scripts and the automaton's
    # bookkeeping; the Python code is the reference. Every corpus text (as typed and as its
    # compact view) and every BMP character between Chinese and Latin neighbours.
    from kefu.compliance import prescan, sentences, textview
    from kefu.compliance.corpus import load

    fast = native.fast_module()
    assert fast is not None
    texts = [e.text for split in ("tuning", "holdout") for e in load(split)]
    texts += [
        "发 票 可 以 开",
        "w.e.c.h.a.t",
        "V-X 加我",
        "手\u200b续\u00ad费",
        "Invoice? 15 yuan.",
        "地址 ٣ 号",  # an Arabic-Indic digit: \d in a str pattern
        "²³ and ① are no decimal digits",
        "１２３",
    ]
    built = prescan.automaton()
    for text in texts:
        view = fast.build(text, textview._FOLD)
        assert view == textview._parts(text), text
        compact = view[1]
        assert fast.sentences(compact) == sentences._split_sentences(compact), text
        for start in range(-1, len(compact) + 2):
            assert fast.clause_start(compact, start) == sentences._clause_start(compact, start), (
                text,
                start,
            )
        bits = fast.scripts(compact)
        assert sentences.SCRIPTS_BY_BITS[bits & 3] == frozenset(
            {"any"}
            | ({"zh"} if sentences._CJK.search(compact) else set())
            | ({"en"} if sentences._LATIN.search(compact) else set())
        ), text
        # The digit bit is sre's \d over the compact view, and over the folded one (the compact
        # view drops no digit), which the address and phone checks used to search.
        assert bool(bits & 4) == (re.search(r"\d", compact) is not None), text
        assert bool(bits & 4) == (re.search(r"\d", view[0]) is not None), text
        matches = built.matcher.find_matches_as_indexes(compact, overlapping=True)
        assert fast.collect(matches, built.values) == prescan._collect(matches, built.values)
    # The C keeps a plan of the last values tuple it was given: another tuple, then the
    # automaton's again, each get their own answer.
    other = (
        (frozenset({"card_fee"}), (("card_fee", 2 << prescan.PATTERN_SHIFT, -1),), (), ()),
        (
            frozenset(),
            (("invoice", 0, -1), ("invoice", 1 << prescan.PATTERN_SHIFT, 1 << 16 | 4)),
            (("invoice:act", 3), ("invoice:act", 1)),
            (1 << 16 | 4,),
        ),
        # A gated pattern whose required literal (need 9) no key lists: never filed.
        (frozenset(), (("invoice", 2 << prescan.PATTERN_SHIFT, 9), ("privacy", 0, 9)), (), ()),
        # A gated pattern filed only when key 1 (its required literal) occurs too.
        (frozenset(), (("card_fee", 3 << prescan.PATTERN_SHIFT, 1 << 16 | 4),), (), ()),
    )
    few = [(1, 7, 9), (0, 4, 5), (1, 2, 3), (2, 5, 6), (3, 8, 9)]
    assert fast.collect(few, other) == prescan._collect(few, other)
    assert fast.collect(few, other)[2] == {
        "invoice:act": [2 << 16 | 1, 2 << 16 | 3, 7 << 16 | 1, 7 << 16 | 3]
    }
    shift = prescan.PATTERN_SHIFT
    assert fast.collect(few, other)[1] == {
        "card_fee": [2 << shift | 4, 3 << shift | 8],
        "invoice": [2, 7, 1 << shift | 2, 1 << shift | 7],
    }
    # Without key 1's match, neither gated pattern is filed, and a group left empty is absent.
    alone = [(0, 4, 5), (2, 5, 6), (3, 8, 9)]
    assert fast.collect(alone, other) == prescan._collect(alone, other)
    assert fast.collect(alone, other)[1] == {"card_fee": [2 << shift | 4]}
    matches = built.matcher.find_matches_as_indexes(texts[0], overlapping=True)
    assert fast.collect(matches, built.values) == prescan._collect(matches, built.values)
    with pytest.raises(IndexError):
        fast.collect([(4, 0, 1)], other)
    # A collection in the middle of a call (while it makes its sets, dicts and lists) may run
    # Python code that calls collect() again: that call builds a plan of its own, and neither
    # answer is disturbed. gc callbacks are such code; a threshold of 1 runs them at once.
    # The re-entering call with another values tuple, then with the same one.
    for call in ((few, other), (matches, built.values)):
        inner: list[tuple[object, object]] = []

        def again(
            phase: str,
            info: dict[str, int],
            call: tuple[object, object] = call,
            inner: list[tuple[object, object]] = inner,
        ) -> None:
            if phase == "start":
                inner.append((fast.collect(*call), prescan._collect(*call)))

        threshold = gc.get_threshold()
        gc.callbacks.append(again)
        gc.set_threshold(1)
        try:
            outer = fast.collect(matches, built.values)
        finally:
            gc.set_threshold(*threshold)
            gc.callbacks.remove(again)
        assert inner, "no collection ran during the call"
        assert all(got == want for got, want in inner)
        assert outer == prescan._collect(matches, built.values)
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        for text in ("手" + chr(code) + "续", "ab" + chr(code) + "cd", "x " + chr(code) + " y"):
            assert fast.build(text, textview._FOLD) == textview._parts(text), hex(code)


@pytest.mark.skipif(native.fast_module() is None, reason="the C extension runs in a compiled build")
def test_the_model_sums_in_c_are_the_python_reference_to_the_bit():
    # _fastview.ngram_sums finds the model's n-grams and adds their weights; model._sums is the
    # reference. Equal doubles, not close ones: a score exactly at a threshold must fall on the
    # same side. Every corpus text's compact view, plus texts outside the BMP, with NUL,
    # U+FFFF, repeats, one character and none.
    from kefu.compliance import model
    from kefu.compliance.corpus import load
    from kefu.compliance.textview import build_view

    fast = native.fast_module()
    assert fast is not None
    loaded = model.load_model()
    assert loaded.table is not None
    texts = [build_view(e.text).compact for split in ("tuning", "holdout") for e in load(split)]
    texts += ["", "卡", "\x00卡\x00", "刷卡\uffff加价", "😀刷卡😀加价😀", "刷卡加价" * 200]
    gram = next(iter(loaded.weights))
    texts += [gram, gram * 3, gram + "\x00", "\x00" + gram]
    for text in texts:
        assert fast.ngram_sums(text, loaded.table) == model._sums(text), text
    # A table of a few n-grams: present, absent, and one that is a prefix of another.
    table = fast.ngram_table({"ab": (1.0, 0.5), "abc": (0.25, -2.0), "x": (0.1, 0.2)}, 2)
    assert fast.ngram_sums("zzz", table) is None
    assert fast.ngram_sums("ab", table) == (1.0, 0.5)
    assert fast.ngram_sums("abcab x", table) == (1.0 + 0.25 + 0.1, 0.5 + -2.0 + 0.2)
    with pytest.raises(ValueError, match="one weight per code"):
        fast.ngram_table({"ab": (1.0,)}, 2)
    with pytest.raises(ValueError, match="1 to 4"):
        fast.ngram_table({"abcde": (1.0,)}, 1)
    with pytest.raises(ValueError, match="PyCapsule"):
        fast.ngram_sums("ab", object())
    # Keys are four 16-bit lanes: a table with an n-gram at or above U+FFFF is not built (the
    # Python sums run); such a character in a text only keeps its n-grams out.
    assert fast.ngram_table({"a\U0001f600": (1.0,)}, 1) is None
    assert fast.ngram_table({"\uffff": (1.0,)}, 1) is None
    assert fast.ngram_sums("a\U0001f600b\uffffab", table) == (1.0, 0.5)
    # An odd number of codes: the table pads each entry's weights with a 0.0 nobody reads.
    odd = fast.ngram_table({"ab": (1.0, 0.5, -0.25), "b": (0.125, 0.0, 2.0)}, 3)
    assert fast.ngram_sums("abab", odd) == (1.0 + 0.125, 0.5 + 0.0, -0.25 + 2.0)
    # Each call counts a repeated n-gram once, and the next call counts it again.
    assert fast.ngram_sums("abab", table) == fast.ngram_sums("ab", table) == (1.0, 0.5)


@pytest.mark.skipif(native.fast_module() is None, reason="no compiled build")
def test_c_automaton_finds_what_the_reference_matcher_finds():
    """scan_collect (the C automaton over the compact view) files exactly what collect files
    for ahocorasick-rs's overlapping matches, on every corpus text and texts of each str
    width; and on keys that are suffixes and prefixes of each other, every occurrence."""
    import ahocorasick_rs

    from kefu.compliance import prescan, textview
    from kefu.compliance.corpus import load

    fast = native.fast_module()
    assert fast is not None
    built = prescan.automaton()
    assert built.native is not None
    texts = [e.text for split in ("tuning", "holdout", "blind13", "blind14") for e in load(split)]
    texts += ["", "加我微信", "发票开不了\U0001f600发票", "invoice fee, wechat: kefu123"]
    for text in texts:
        compact = fast.build(text, textview._FOLD)[1]
        matches = built.matcher.find_matches_as_indexes(compact, overlapping=True)
        assert fast.scan_collect(compact, built.native, built.values) == prescan._collect(
            matches, built.values
        ), text
    # Nested keys: every key of a chain of suffixes is reported, at its own start.
    keys = ("abcd", "bcd", "cd", "d", "bc", "abx", "\U0001f600d", "您", "给您发")
    values = tuple((frozenset(), (), (("k", i),), ()) for i in range(len(keys)))
    automaton = fast.automaton(keys)
    reference = ahocorasick_rs.AhoCorasick(list(keys))
    for text in ("abcdabxabcd", "aabcbcdd", "\U0001f600d给您发您", "xyz", "ababcd"):
        matches = reference.find_matches_as_indexes(text, overlapping=True)
        got = fast.scan_collect(text, automaton, values)
        assert got == prescan._collect(matches, values), text
    assert fast.scan_collect("abcd", automaton, values)[2] == {
        "k": [0 << 16 | 0, 1 << 16 | 1, 1 << 16 | 4, 2 << 16 | 2, 3 << 16 | 3]
    }
    with pytest.raises(ValueError, match="non-empty"):
        fast.automaton(("a", ""))
    with pytest.raises(ValueError, match="twice"):
        fast.automaton(("a", "a"))
    # A long text grows the matches past the stack's buffer.
    long_text = "abcd" * 500
    matches = reference.find_matches_as_indexes(long_text, overlapping=True)
    assert fast.scan_collect(long_text, automaton, values) == prescan._collect(matches, values)
