"""Amount cells as sellers' files write them, read to an exact Decimal or refused with a reason.

One parser for every import (orders and products): "15,34 €", "US $12.50", "1.234,56 EUR",
"¥128", "128元", "RUB 1 234,50". The rule for separators (docs/guide/imports.md):

- a currency sign or code may stand before or after the number (one currency per cell);
  ¥/￥/元/RMB are yuan (CNY), $ and US $ are US dollars;
- with both "." and ",", the last one is the decimal separator and the other groups thousands;
- with one kind only, written once: followed by 1 or 2 digits it is the decimal separator,
  followed by exactly 3 digits it groups thousands (amounts have at most two decimals);
  written more than once it groups thousands;
- spaces (also no-break and thin spaces) group thousands: "1 234,50";
- thousands groups are exactly 3 digits after a first group of 1-3; anything else
  ("12.3.4", "1,23,4", "15,34 € / 3", a negative amount, three decimals) is refused.

So "15,34 €" is 15.34 EUR, never 1534.00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1e12")
# The common cell, 199 or 199.00, read without the checks below (most cells of an export).
_PLAIN = re.compile(r"\d{1,12}(?:\.\d{1,2})?", re.ASCII)
_NONE_WORDS = frozenset({"", "-", "--", "null", "none", "n/a", "无"})
# Signs and codes, longest first so "US $" wins over "$" and "руб." over "руб".
_MARKS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        (
            ("US $", "USD"),
            ("US$", "USD"),
            ("USD", "USD"),
            ("$", "USD"),
            ("€", "EUR"),
            ("EUR", "EUR"),
            ("¥", "CNY"),
            ("￥", "CNY"),
            ("元", "CNY"),
            ("RMB", "CNY"),
            ("CNY", "CNY"),
            ("₽", "RUB"),
            ("RUB", "RUB"),
            ("руб.", "RUB"),
            ("руб", "RUB"),
            ("£", "GBP"),
            ("GBP", "GBP"),
        ),
        key=lambda mark: -len(mark[0]),
    )
)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_NUMBER = re.compile(r"\d[\d.,\s\u00a0\u202f\u2009]*")


class AmountError(ValueError):
    """The cell is not an amount; the message names the cell and says why."""


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None  # from the cell's sign or code; None when it has none


def _refuse(column: str, text: str, why: str) -> AmountError:
    return AmountError(
        gettext("%(column)s: %(value)r is not an amount (%(why)s)")
        % {"column": column, "value": text, "why": why}
    )


def _cell_text(value: Any) -> str:
    text = str(value).strip()
    # Seller centres protect cells from Excel as ="…" or with a leading apostrophe.
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text.lstrip("'\t").strip()


def _take_currency(text: str, column: str, original: str) -> tuple[str, str | None]:
    """The text without its currency marks at either end, and the currency they name."""
    found: str | None = None
    rest = text
    changed = True
    while changed:
        changed = False
        for mark, code in _MARKS:
            folded = rest.upper() if mark.isascii() else rest
            wanted = mark.upper() if mark.isascii() else mark
            if folded.startswith(wanted):
                rest = rest[len(mark) :].strip()
            elif folded.endswith(wanted):
                rest = rest[: -len(mark)].strip()
            else:
                continue
            if found is not None and found != code:
                raise _refuse(column, original, gettext("it names two currencies"))
            found = code
            changed = True
            break
    return rest, found


def _number(text: str, column: str, original: str) -> Decimal:
    if not _NUMBER.fullmatch(text) or not text[-1].isdigit():
        raise _refuse(column, original, gettext("write digits with one decimal separator"))
    spaced = _SPACES.split(text)
    if len(spaced) > 1:
        # Spaces group thousands: every group after the first holds 3 digits (the last may
        # carry the decimals: "1 234,50").
        for group in spaced[1:-1]:
            if not re.fullmatch(r"\d{3}", group):
                raise _refuse(column, original, gettext("its digit groups are not thousands"))
        if not re.fullmatch(r"\d{1,3}", spaced[0]) or not re.fullmatch(
            r"\d{3}(?:[.,]\d{1,2})?", spaced[-1]
        ):
            raise _refuse(column, original, gettext("its digit groups are not thousands"))
    compact = "".join(spaced)
    dots, commas = compact.count("."), compact.count(",")
    decimal_mark = grouping = ""
    if dots and commas:
        decimal_mark = "." if compact.rfind(".") > compact.rfind(",") else ","
        grouping = "," if decimal_mark == "." else "."
    elif dots + commas == 1:
        mark = "." if dots else ","
        decimals = len(compact) - compact.index(mark) - 1
        if decimals == 3:
            grouping = mark  # "1,234" / "1.234": amounts have at most two decimals
        elif decimals in (1, 2):
            decimal_mark = mark
        else:
            raise _refuse(column, original, gettext("it has more than two decimals"))
    elif dots or commas:
        grouping = "." if dots else ","  # "1,234,567": written several times, it groups
    whole, fraction = compact, ""
    if decimal_mark:
        if compact.count(decimal_mark) > 1:
            raise _refuse(column, original, gettext("write digits with one decimal separator"))
        whole, fraction = compact.split(decimal_mark)
        if not re.fullmatch(r"\d{1,2}", fraction):
            raise _refuse(column, original, gettext("it has more than two decimals"))
    if grouping:
        if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(grouping)}\d{{3}})+", whole):
            raise _refuse(column, original, gettext("its digit groups are not thousands"))
        whole = whole.replace(grouping, "")
    if not whole.isdigit():
        raise _refuse(column, original, gettext("write digits with one decimal separator"))
    return Decimal(whole + ("." + fraction if fraction else ""))


def parse_amount(value: Any, column: str, *, currency: str | None = None) -> Amount | None:
    """A money cell as an exact amount (two decimals), None for an empty cell.

    `column` names the cell in the reason; `currency`, when the row or the file says one,
    is the currency a sign or code in the cell must agree with.
    """
    if type(value) is str and _PLAIN.fullmatch(plain := value.strip()):
        return Amount(Decimal(plain).quantize(CENT), None)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        if not number.is_finite():
            raise _refuse(column, str(value), gettext("not a number"))
        return Amount(_checked(number, column, str(value)), None)
    original = _cell_text(value)
    if original.lower() in _NONE_WORDS:
        return None
    text, found = _take_currency(original, column, original)
    if text.startswith("-") or text.endswith("-"):
        raise _refuse(column, original, gettext("an amount is not negative"))
    if not text:
        raise _refuse(column, original, gettext("no digits"))
    number = _number(text, column, original)
    if found and currency and found != currency.upper():
        raise AmountError(
            gettext("%(column)s: %(value)r is in %(found)s but the row is in %(currency)s")
            % {"column": column, "value": original, "found": found, "currency": currency.upper()}
        )
    return Amount(_checked(number, column, original), found)


def _checked(number: Decimal, column: str, original: str) -> Decimal:
    if number < 0:
        raise _refuse(column, original, gettext("an amount is not negative"))
    if number >= MAX_AMOUNT:
        raise _refuse(column, original, gettext("too large"))
    # A spreadsheet's number cell may hold more decimals than it shows (a formula's result):
    # it is rounded to the cent like the cell shows it. Text was checked for two decimals.
    return number.quantize(CENT)
