"""`kefu scripts install|suggest`, `kefu keywords test`: library and matching from a shell."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError

from kefu.accounts.models import Shop
from kefu.automation.models import ScriptLanguage, ScriptStage
from kefu.automation.scripts import install_default_scripts
from kefu.automation.selectors import live_keywords, suggest_scripts
from kefu.automation.suggest import ORDER_STATES


def register(sub: Any) -> None:
    scripts = sub.add_parser("scripts", help="reply-script library (话术)").add_subparsers(
        dest="scripts_cmd"
    )
    scripts.required = True
    install = scripts.add_parser("install", help="load the default library into a shop")
    install.add_argument("--shop", required=True, help="shop slug")
    install.set_defaults(handler=_install)
    suggest = scripts.add_parser("suggest", help="show the scripts suggested for a message")
    suggest.add_argument("--shop", required=True, help="shop slug")
    suggest.add_argument("--stage", choices=ScriptStage.values)
    suggest.add_argument("--language", choices=ScriptLanguage.values)
    suggest.add_argument("--order-state", choices=sorted(ORDER_STATES))
    suggest.add_argument("--limit", type=int, default=3)
    suggest.add_argument("--json", action="store_true")
    suggest.add_argument("text")
    suggest.set_defaults(handler=_suggest)

    keywords = sub.add_parser("keywords", help="keyword replies (关键词回复)").add_subparsers(
        dest="keywords_cmd"
    )
    keywords.required = True
    test = keywords.add_parser("test", help="which live keyword rule answers a message")
    test.add_argument("--shop", required=True, help="shop slug")
    test.add_argument("text")
    test.set_defaults(handler=_keywords_test)


def _shop(slug: str) -> Shop:
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None:
        raise CommandError(f"no shop with slug {slug!r}")
    return shop


def _install(args: argparse.Namespace) -> int:
    added = install_default_scripts(shop=_shop(args.shop))
    print(f"added {added} scripts")
    return 0


def _suggest(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 20:
        raise CommandError("--limit is 1 to 20")
    found = suggest_scripts(
        shop=_shop(args.shop),
        conversation_stage=args.stage,
        text=args.text,
        language=args.language,
        order_state=args.order_state,
        limit=args.limit,
    )
    if args.json:
        print(json.dumps([{**vars(s), "reason": s.reason} for s in found], ensure_ascii=False))
        return 0
    for s in found:
        print(f"{s.score:.3f}  {s.title}  [{s.stage}/{s.topic}/{s.language}]\n       {s.reason}")
    if not found:
        print("no script fits")
    return 0


def _keywords_test(args: argparse.Namespace) -> int:
    live = live_keywords(_shop(args.shop))
    found = live.matcher.match(args.text)
    if found is None:
        print(f"no keyword rule (set version {live.version})")
        return 0
    rule = live.rules[found.rule_id]
    print(f"rule {rule.pk} keyword {rule.keyword!r} -> {rule.reply_type}")
    return 0
