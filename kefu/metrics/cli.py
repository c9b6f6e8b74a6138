"""`kefu metrics [show|rebuild] --shop SLUG ...`: the R-39 figures, or a rebuild of the rollups.

`kefu metrics --shop S --from D --to D [--by day|agent|group] [--json]` prints the R-39
figures; `kefu metrics rebuild --shop S` recomputes the rollups from raw rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import zoneinfo
from typing import Any, TextIO

from django.core.management.base import CommandError

TABLE_COLUMNS = (
    ("reception_count", "接待人数"),
    ("replied_buyers", "回复人数"),
    ("messages_received", "收到消息数"),
    ("messages_replied", "回复消息数"),
    ("replied_24h", "24H回复量"),
    ("reply_rate_24h", "24H回复率"),
    ("reply_rate", "回复率"),
    ("reply_rate_24h_with_auto", "24H回复率(含自动)"),
    ("reply_rate_with_auto", "回复率(含自动)"),
    ("consult_conversion_rate", "咨询转化率"),
    ("placed_buyers", "引导下单人数"),
    ("placed_conversion_rate", "下单转化率"),
    ("guided_gmv", "引导下单GMV"),
    ("first_response_seconds", "首次响应时间"),
    ("average_response_seconds", "平均响应时间"),
    ("resolution_seconds", "解决时长"),
    ("refund_dispute_rate", "纠纷率"),
    ("automation_share", "自动化占比"),
)


def register(sub: Any) -> None:
    metrics = sub.add_parser(
        "metrics",
        help="service metrics (客服绩效): show figures or rebuild the rollups",
        description="Show the R-39 figures of a shop for a date range (shop-local days), or "
        "`kefu metrics rebuild --shop SLUG` to recompute every rollup from raw rows.",
    )
    metrics.add_argument(
        "action", nargs="?", choices=["show", "rebuild"], default="show", help="default: show"
    )
    metrics.add_argument("--shop", required=True, help="the shop's slug")
    metrics.add_argument("--from", dest="start", type=_date, help="first day, YYYY-MM-DD")
    metrics.add_argument("--to", dest="end", type=_date, help="last day, YYYY-MM-DD")
    metrics.add_argument("--by", choices=["day", "agent", "group"], default=None)
    metrics.add_argument("--json", action="store_true", help="print one JSON object")
    metrics.set_defaults(handler=run_metrics)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _shop(slug: str) -> Any:
    from kefu.accounts.selectors import shop_by_slug

    shop = shop_by_slug(slug)
    if shop is None:
        raise CommandError(f"no shop with slug {slug!r}")
    return shop


def run_metrics(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError

    from kefu.metrics import refresh, selectors

    shop = _shop(args.shop)
    if args.action == "rebuild":
        try:
            result = refresh.rebuild_shop(shop=shop)
        except refresh.Busy as exc:
            raise CommandError(str(exc)) from exc
        print(
            f"rebuilt {shop.slug}: {result.buyers} buyers, {result.facts} facts, "
            f"{result.days} days in {result.seconds:.1f} s"
        )
        return 0
    end = args.end or selectors.today(shop)
    start = args.start or end - dt.timedelta(days=6)
    if selectors.freshness(shop).behind:
        # Rows arrived since the last run (no worker, or just now): compute before showing.
        refresh.refresh_waiting(shop=shop, wait_seconds=10)
    try:
        report = selectors.report(shop=shop, start=start, end=end, by=args.by or "day")
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    doc = report.as_json()
    if not args.by:
        doc["rows"] = []
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    _print_table(sys.stdout, doc, report.reporting_currency)
    print(freshness_line(doc, shop.timezone))
    return 0


RATES = frozenset(
    {
        "reply_rate_24h",
        "reply_rate",
        "reply_rate_24h_with_auto",
        "reply_rate_with_auto",
        "consult_conversion_rate",
        "placed_conversion_rate",
        "refund_dispute_rate",
        "automation_share",
    }
)


def _local(value: str | None, tz: str) -> str:
    if not value:
        return "-"
    moment = dt.datetime.fromisoformat(value).astimezone(zoneinfo.ZoneInfo(tz))
    return moment.strftime("%Y-%m-%d %H:%M")


def freshness_line(doc: dict[str, Any], tz: str) -> str:
    """The "figures as of … / data until …" line, in English and Chinese."""
    line = (
        f"figures as of {_local(doc['figures_as_of'], tz)} 指标计算于 · "
        f"data until {_local(doc['data_until'], tz)} 数据截至"
    )
    if doc["figures_behind_data"]:
        line += (
            "\nfigures are older than the data; another run is computing them "
            "(kefu metrics rebuild forces it) 指标早于数据，正在更新"
        )
    return line


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in RATES:
        return f"{value * 100:.1f}%"
    if name.endswith("_seconds"):
        # Read like the dashboard ("17 min"); --json keeps the seconds.
        from kefu.core.durations import format_duration

        return format_duration(value)
    return str(value)


def _print_table(out: TextIO, doc: dict[str, Any], currency: str) -> None:
    out.write(f"{doc['shop']}  {doc['from']} .. {doc['to']}  (GMV in {currency})\n")
    header = ["", *(f"{zh}" for _, zh in TABLE_COLUMNS)]
    lines = [["total", *(_cell(n, doc["total"][n]) for n, _ in TABLE_COLUMNS)]]
    prev = doc["previous"]
    lines.append([f"prev {prev['from']}", *(_cell(n, prev["total"][n]) for n, _ in TABLE_COLUMNS)])
    for row in doc["rows"]:
        lines.append([str(row["label"]), *(_cell(n, row[n]) for n, _ in TABLE_COLUMNS)])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    for line in [header, *lines]:
        out.write("  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=True)) + "\n")
