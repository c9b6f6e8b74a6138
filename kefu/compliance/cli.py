"""`kefu compliance check`: judge one text, or a JSONL file of texts, against a rule pack.

The verdict is a report, so ok, warn and block all exit 0; bad input exits 2 (see kefu.cli).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from kefu.compliance.corpus import Example, evaluate, example_from
from kefu.compliance.packs import PLATFORMS
from kefu.compliance.scanner import CheckContext, Verdict, check_text


def register(sub: Any) -> None:
    group = sub.add_parser("compliance", help="platform rule guard (合规检查)")
    commands = group.add_subparsers(dest="compliance_command", metavar="COMMAND")
    commands.required = True
    check = commands.add_parser(
        "check",
        help="check a reply against a platform's rule pack",
        description="Print the verdict (ok, warn or block) and every finding with its span, "
        "explanation and compliant alternative. Exit 0 whatever the verdict.",
    )
    check.add_argument("text", nargs="?", help="the reply to check")
    check.add_argument("--file", type=Path, help='JSONL, one {"text": ...} per line')
    check.add_argument("--platform", choices=PLATFORMS, default="taobao")
    check.add_argument(
        "--free-shipping", action="store_true", help="the listing promises free shipping"
    )
    check.add_argument(
        "--recipient-not-buyer",
        action="store_true",
        help="the recipient is not the buyer account that paid the order",
    )
    check.add_argument(
        "--shipping-policy",
        metavar="POLICY",
        help='the shop\'s shipping policy when no listing says: "none", "free" (mainland '
        'including remote regions) or "free-except:新疆,西藏" (those regions set their own '
        "postage on the page)",
    )
    stock = check.add_mutually_exclusive_group()
    stock.add_argument("--in-stock", action="store_true", help="stock is available")
    stock.add_argument("--out-of-stock", action="store_true", help="nothing left in stock")
    check.add_argument("--refund-talk", action="store_true", help="the conversation is a refund")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(handler=run_check)


def _shipping_policy(value: str | None) -> tuple[bool, bool]:
    """(free shipping, regional postage) of a --shipping-policy value."""
    if value is None or value == "none":
        return False, False
    if value == "free":
        return True, False
    prefix = "free-except:"
    if value.startswith(prefix):
        regions = [r for r in value[len(prefix) :].split(",") if r.strip()]
        if not regions:
            raise CommandError("--shipping-policy free-except: needs at least one region")
        return True, True
    raise CommandError(
        f"--shipping-policy {value!r}: use none, free or free-except:REGION[,REGION...]"
    )


def _context(args: argparse.Namespace) -> CheckContext:
    policy_free, regional = _shipping_policy(args.shipping_policy)
    return CheckContext(
        platform=args.platform,
        free_shipping=args.free_shipping or policy_free,
        regional_postage=regional,
        recipient_is_paying_buyer=False if args.recipient_not_buyer else None,
        stock_available=True if args.in_stock else False if args.out_of_stock else None,
        refund_talk=args.refund_talk,
    )


def run_check(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.file is None):
        raise CommandError("give either TEXT or --file, not both and not neither")
    context = _context(args)
    if args.file is not None:
        return _check_file(args.file, context, as_json=args.json)
    if not args.text.strip():
        raise CommandError("TEXT is empty")
    verdict = check_text(args.text, context=context)
    if args.json:
        print(json.dumps(verdict.as_dict(), ensure_ascii=False))
    else:
        print(_describe(verdict))
    return 0


def _describe(verdict: Verdict) -> str:
    lines = [f"verdict: {verdict.verdict}  (pack {verdict.pack_version})"]
    for f in verdict.findings:
        rule = f.rule
        lines += [
            f"- [{f.severity.value}] {f.code} ({rule.requirement}) "
            f"span {f.start}-{f.end}: {f.match!r}",
            f"    why:     {rule.explanation.en}",
            f"             {rule.explanation.zh}",
        ]
        if f.reason is not None:
            # A finding of the model behind the rules: which phrases made it speak.
            lines += [f"    model:   {f.reason.en}", f"             {f.reason.zh}"]
        lines += [
            f"    instead: {f.alternative.en}",
            f"             {f.alternative.zh}",
            f"    risk:    {rule.penalty.text.en}",
        ]
    return "\n".join(lines)


def _read_examples(path: Path, context: CheckContext) -> list[Example]:
    try:
        raw_lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read: {exc}") from None
    examples = []
    defaults = {
        "platform": context.platform,
        "free_shipping": context.free_shipping,
        "regional_postage": context.regional_postage,
        "recipient_is_paying_buyer": context.recipient_is_paying_buyer,
        "stock_available": context.stock_available,
        "refund_talk": context.refund_talk,
    }
    for number, raw in enumerate(raw_lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise CommandError(f'{path}:{number}: expected an object with a "text" string')
        line_context = {**defaults, **(data.get("context") or {})}
        if data.get("platform"):
            line_context["platform"] = data["platform"]
        expected = data.get("expected")
        try:
            examples.append(
                example_from(
                    {
                        "text": data["text"],
                        "expected": expected if isinstance(expected, list) else [],
                        "context": line_context,
                    },
                    line=number,
                )
            )
        except (TypeError, ValueError) as exc:
            raise CommandError(f"{path}:{number}: bad context ({exc})") from None
        if examples[-1].context.platform not in PLATFORMS:
            raise CommandError(f"{path}:{number}: unknown platform")
    return examples


def _check_file(path: Path, context: CheckContext, *, as_json: bool) -> int:
    examples = _read_examples(path, context)
    verdicts = Counter[str]()
    codes = Counter[str]()
    results: list[dict[str, Any]] = []
    for example in examples:
        verdict = check_text(example.text, context=example.context)
        verdicts[verdict.verdict] += 1
        codes.update(verdict.codes)
        results.append(
            {"line": example.line, "verdict": verdict.verdict, "codes": sorted(verdict.codes)}
        )
    labelled = any(example.expected for example in examples)
    scores = evaluate(str(path), examples).as_rows() if labelled else []
    summary: dict[str, Any] = {
        "checked": len(examples),
        "verdicts": {name: verdicts[name] for name in ("ok", "warn", "block")},
        "codes": dict(sorted(codes.items())),
        "scores": scores,
    }
    if as_json:
        print(json.dumps({**summary, "results": results}, ensure_ascii=False))
        return 0
    print(
        f"checked {summary['checked']}: "
        + ", ".join(f"{name} {count}" for name, count in summary["verdicts"].items())
    )
    for code, count in summary["codes"].items():
        print(f"  {code:<16} {count}")
    for row in scores:
        print(
            f"  {row['code']:<16} precision {row['precision']:.3f}  recall {row['recall']:.3f}"
            f"  (support {row['support']})"
        )
    for result in results:
        if result["verdict"] != "ok":
            print(f"  line {result['line']}: {result['verdict']} {', '.join(result['codes'])}")
    return 0
