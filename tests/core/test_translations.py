"""Every string the pages and the code mark for translation has a translation.

The msgids are extracted the way `makemessages` does it, into a temporary copy of the
source tree (the committed catalogues are never rewritten), then compared with the
committed catalogues:

- zh-Hans: every msgid used anywhere has a non-empty, non-fuzzy msgstr;
- ru and es: every buyer-facing msgid (context "buyer": the chat widget, coupon offers,
  refusals a buyer reads) has one too. A buyer-facing string missing there would not even
  show in English: Django falls back to the default language, Chinese.

A failure prints the missing msgids, so they can be added to the .po by hand.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

import kefu

SOURCE = Path(kefu.__file__).parent
LOCALE = SOURCE / "locale"
BUYER = "buyer"
BUYER_LANGUAGES = ("zh_Hans", "ru", "es")


@dataclass
class Entry:
    context: str | None
    msgid: str
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)

    @property
    def done(self) -> bool:
        return not self.fuzzy and bool(self.translations) and all(self.translations)


def read_po(path: Path) -> dict[tuple[str | None, str], Entry]:
    """A small .po reader: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], the fuzzy flag;
    obsolete (#~) entries are skipped."""
    entries: dict[tuple[str | None, str], Entry] = {}
    fields: dict[str, list[str]] = {}
    flags: set[str] = set()
    current: str | None = None

    def flush() -> None:
        nonlocal fields, flags, current
        if "msgid" in fields:
            msgid = "".join(fields["msgid"])
            strs = ["".join(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            ctx = "".join(fields["msgctxt"]) if "msgctxt" in fields else None
            plural = "".join(fields["msgid_plural"]) if "msgid_plural" in fields else None
            if msgid:  # the header
                entries[(ctx, msgid)] = Entry(ctx, msgid, plural, strs, "fuzzy" in flags)
        fields, flags, current = {}, set(), None

    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#,"):
            if "msgid" in fields:
                flush()
            flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            if "msgid" in fields and "msgstr" in " ".join(fields):
                flush()
            continue
        elif line.startswith('"'):
            if current is not None:
                fields[current].append(ast.literal_eval(line))
        else:
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in fields):
                flush()
            current = keyword
            fields[current] = [ast.literal_eval(rest.strip())]
    return entries


def _extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, domain: str) -> Path:
    copy = tmp_path / "src" / "kefu"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__"))
    out = copy / "locale"
    out.mkdir()
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[out]):
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            domain=domain,
            keep_pot=True,
            no_location=True,
            # Vendored libraries call functions named like gettext for their own ends.
            ignore_patterns=["static/vendor/*"],
            verbosity=0,
        )
    return out / f"{domain}.pot"


@pytest.fixture(scope="module")
def used(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str | None, str], Entry]:
    if shutil.which("xgettext") is None:  # pragma: no cover - the gettext tools are required
        pytest.fail("GNU gettext (xgettext, msgfmt) is needed to check the catalogues")
    monkeypatch = pytest.MonkeyPatch()
    try:
        pot = _extract(tmp_path_factory.mktemp("messages"), monkeypatch, "django")
    finally:
        monkeypatch.undo()
    return read_po(pot)


def _missing(
    used: dict[tuple[str | None, str], Entry], catalogue: Path, only_context: str | None = None
) -> list[str]:
    have = read_po(catalogue) if catalogue.exists() else {}
    gaps = []
    for key, entry in sorted(used.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        if only_context is not None and entry.context != only_context:
            continue
        found = have.get(key)
        if found is None or not found.done:
            why = "missing" if found is None else ("fuzzy" if found.fuzzy else "empty")
            ctx = f"[{entry.context}] " if entry.context else ""
            gaps.append(f"{why}: {ctx}{entry.msgid!r}")
    return gaps


def test_the_extraction_sees_the_pages_and_the_code(used):
    # Guards the guard: a broken extraction would find nothing missing.
    assert (None, "Send") in used or (BUYER, "Send") in used
    assert len(used) > 500
    assert any(e.context == BUYER for e in used.values())


def test_every_used_msgid_has_a_chinese_translation(used):
    gaps = _missing(used, LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert not gaps, (
        f"{len(gaps)} msgids without a zh-Hans translation in "
        "kefu/locale/zh_Hans/LC_MESSAGES/django.po:\n" + "\n".join(gaps)
    )


@pytest.mark.parametrize("language", BUYER_LANGUAGES)
def test_every_buyer_facing_msgid_is_translated(used, language):
    gaps = _missing(used, LOCALE / language / "LC_MESSAGES" / "django.po", only_context=BUYER)
    assert not gaps, (
        f"{len(gaps)} buyer-facing msgids without a {language} translation:\n" + "\n".join(gaps)
    )


def test_script_strings_use_no_javascript_catalogue_or_have_one(tmp_path, monkeypatch):
    pot = _extract(tmp_path, monkeypatch, "djangojs")
    used_js = read_po(pot) if pot.exists() else {}
    gaps = _missing(used_js, LOCALE / "zh_Hans" / "LC_MESSAGES" / "djangojs.po")
    assert not gaps, "msgids of the scripts without a zh-Hans translation:\n" + "\n".join(gaps)


@pytest.mark.parametrize("language", ["zh_Hans", *BUYER_LANGUAGES[1:]])
def test_the_catalogues_compile_and_keep_their_placeholders(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    checked = subprocess.run(  # noqa: S603 - our own file names
        ["msgfmt", "--check-format", "-o", "/dev/null", str(po)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert po.with_suffix(".mo").exists(), "run `make messages` to compile the catalogue"


@pytest.mark.parametrize("language", ["zh_Hans", *BUYER_LANGUAGES[1:]])
def test_no_catalogue_entry_is_empty_or_fuzzy(language):
    # An entry nobody uses any more is still read by someone maintaining the file: an empty or
    # fuzzy one there is a gap waiting to be used again.
    entries = read_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    gaps = [
        f"{'fuzzy' if e.fuzzy else 'empty'}: {e.msgid!r}" for e in entries.values() if not e.done
    ]
    assert not gaps, f"{language} catalogue entries without a translation:\n" + "\n".join(gaps)
