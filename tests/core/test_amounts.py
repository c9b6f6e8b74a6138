"""Amount cells as sellers' files write them: each spelling read to the exact amount (and the
currency its sign or code names) or refused with a reason that names the cell."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from kefu.core.amounts import AmountError, parse_amount


@pytest.fixture(autouse=True)
def _english():
    # The reasons are translated; these tests read them in English.
    with translation.override("en"):
        yield


READ = [
    ("15,34 €", "15.34", "EUR"),
    ("€15,34", "15.34", "EUR"),
    ("US $12.50", "12.50", "USD"),
    ("US$12.50", "12.50", "USD"),
    ("$1,234.56", "1234.56", "USD"),
    ("1.234,56 EUR", "1234.56", "EUR"),
    ("1.234,56 eur", "1234.56", "EUR"),
    ("¥128", "128.00", "CNY"),
    ("￥128.00", "128.00", "CNY"),
    ("128元", "128.00", "CNY"),
    ("RMB 99.9", "99.90", "CNY"),
    ("RUB 1 234,50", "1234.50", "RUB"),
    ("1 234,50 ₽", "1234.50", "RUB"),
    ("1\u00a0234,50 руб.", "1234.50", "RUB"),
    ("12.50 USD", "12.50", "USD"),
    ("USD 12.50", "12.50", "USD"),
    ("£7.5", "7.50", "GBP"),
    # one separator followed by exactly three digits groups thousands (amounts have two
    # decimals at most); followed by one or two digits it is the decimal separator
    ("1,234", "1234.00", None),
    ("1.234", "1234.00", None),
    ("0,5", "0.50", None),
    ("12,30", "12.30", None),
    ("1,234,567.89", "1234567.89", None),
    ("1.234.567", "1234567.00", None),
    ("12.345,6", "12345.60", None),
    ("12 345", "12345.00", None),
    ("199", "199.00", None),
    ("199.00", "199.00", None),
    ('="199.00"', "199.00", None),
    ("１２８.００", "128.00", None),
]

REFUSED = [
    ("12.3.4", "its digit groups are not thousands"),
    ("1,23,4", "its digit groups are not thousands"),
    ("1 23", "its digit groups are not thousands"),
    ("abc", "write digits with one decimal separator"),
    ("15,34 € / 3", "write digits with one decimal separator"),
    ("1,2345", "it has more than two decimals"),
    ("1.234,567", "it has more than two decimals"),
    ("12,", "write digits with one decimal separator"),
    ("-5.00", "an amount is not negative"),
    ("$12 €", "it names two currencies"),
    ("EUR", "no digits"),
    ("1e5", "write digits with one decimal separator"),
]


@pytest.mark.parametrize(("cell", "amount", "currency"), READ)
def test_each_spelling_is_read_to_the_exact_amount(cell, amount, currency):
    read = parse_amount(cell, "Order Amount")
    assert read is not None
    assert (read.value, read.currency) == (Decimal(amount), currency)


@pytest.mark.parametrize(("cell", "why"), REFUSED)
def test_each_unreadable_spelling_is_refused_with_the_cell_and_the_reason(cell, why):
    with pytest.raises(AmountError) as refused:
        parse_amount(cell, "Order Amount")
    assert str(refused.value) == f"Order Amount: {cell!r} is not an amount ({why})"


def test_a_decimal_comma_is_never_read_as_thousands():
    read = parse_amount("15,34 €", "Price")
    assert read is not None and read.value == Decimal("15.34") != Decimal("1534")


def test_a_currency_that_contradicts_the_row_is_refused():
    with pytest.raises(AmountError) as refused:
        parse_amount("15,34 €", "Order Amount", currency="USD")
    assert str(refused.value) == "Order Amount: '15,34 €' is in EUR but the row is in USD"
    read = parse_amount("US $12.50", "Order Amount", currency="usd")
    assert read is not None and read.value == Decimal("12.50")


@pytest.mark.parametrize("cell", [None, "", "  ", "-", "n/a", "无"])
def test_an_empty_cell_is_no_amount(cell):
    assert parse_amount(cell, "Order Amount") is None


def test_spreadsheet_numbers_are_rounded_to_the_cent_they_show():
    read = parse_amount(10 / 3, "Order Amount")
    assert read is not None and read.value == Decimal("3.33")
    with pytest.raises(AmountError):
        parse_amount(-1.5, "Order Amount")
