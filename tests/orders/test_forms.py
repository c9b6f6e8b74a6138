"""Parsing the order settings page."""

from __future__ import annotations

from kefu.orders.forms import parse_tracking_templates


def test_tracking_lines_parse_comments_and_blank_lines():
    assert parse_tracking_templates("# carriers\n\nYunExpress = https://y.example/{number}\n") == {
        "YunExpress": "https://y.example/{number}"
    }
