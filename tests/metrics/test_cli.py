"""`kefu metrics`: the figures as JSON or a table, the rebuild and bad input."""

from __future__ import annotations

import datetime as dt
import json

from kefu.cli import main as kefu


def test_cli_metrics_json_and_table(history, capsys):
    assert (
        kefu(
            ["metrics", "--shop", "aurora", "--from", "2026-03-02", "--to", "2026-03-03", "--json"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"]["reception_count"] == 3
    assert doc["rows"] == []
    for name in (
        "reception_count",
        "replied_buyers",
        "messages_received",
        "messages_replied",
        "replied_24h",
        "reply_rate_24h",
        "consult_conversion_rate",
        "guided_gmv",
    ):
        assert name in doc["total"]
    assert (
        kefu(
            [
                "metrics",
                "--shop",
                "aurora",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
                "--by",
                "group",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["key"] for r in rows} == {"pre_sale", "after_sale"}
    assert (
        kefu(
            [
                "metrics",
                "--shop",
                "aurora",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
                "--by",
                "day",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "接待人数" in out and "2026-03-02" in out
    assert "100.0%" in out  # rates print as percentages
    assert "首次响应时间" in out and "(s)" not in out
    assert "17 min" in out or "17分钟" in out  # times read as times; --json keeps seconds


def test_cli_rebuild_and_errors(history, capsys):
    assert kefu(["metrics", "rebuild", "--shop", "aurora"]) == 0
    assert "rebuilt aurora: 3 buyers" in capsys.readouterr().out
    assert kefu(["metrics", "rebuild", "--shop", "nope"]) == 2
    assert "no shop" in capsys.readouterr().err
    assert kefu(["metrics", "--shop", "aurora", "--from", "2026-03-05", "--to", "2026-03-01"]) == 2


def test_dates_default_to_the_last_seven_shop_days(shop, capsys):
    assert kefu(["metrics", "--shop", "aurora", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (dt.date.fromisoformat(doc["to"]) - dt.date.fromisoformat(doc["from"])).days == 6
