"""Rule guard speed: replies checked per second on one core, and latency percentiles per check.

Every pack is exercised (the platform cycles per message) and every context switch is on
(free shipping, recipient not the paying buyer, stock known), so every rule family runs.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import TYPE_CHECKING

from bench import harness
from bench.harness import Row

if TYPE_CHECKING:
    from kefu.compliance.verdict import CheckContext

ZH_100 = (
    "亲，这款台灯有现货，今天下午就给您发出，发票可以开的，金额和实付一致。信用卡和花呗分期都不收手续费，"
    "偏远地区也包邮，收到后有任何问题请随时联系我们，我们会第一时间为您处理，祝您生活愉快！"
)
ZH_HANT_100 = (
    "親，這款檯燈有現貨，今天下午就給您發出，發票可以開的，金額和實付一致。信用卡和花唄分期都不收手續費，"
    "偏遠地區也包郵，收到後有任何問題請隨時聯繫我們，我們會第一時間為您處理，祝您生活愉快！"
)
EN_100 = (
    "Hi! It ships within 48 hours, an invoice is available and instalments carry no extra fee. "
    "Thanks!"
)
VIOLATING_100 = (
    "亲，新疆要补10元邮费，信用卡付款加0.8%手续费，发票开不了，加我微信 kefu123 私下转账更便宜，"
    "这是快递的问题，退款请耐心等待。不好意思，这单我们也发不了货，您申请退款吧。"
)


RU_ES_100 = (
    "Здравствуйте! Отправим в течение 48 часов, счёт выставим на всю сумму без доплат. "
    "¡Gracias por su compra!"
)


def every_context() -> list[CheckContext]:
    """One check context per platform with every context switch on (free shipping, a recipient
    who did not pay, stock known): what each measured check runs under, here and in
    `bench.guard_callgrind`."""
    from kefu.compliance.packs import PLATFORMS
    from kefu.compliance.scanner import CheckContext as Context

    return [
        Context(
            platform=platform,
            free_shipping=True,
            recipient_is_paying_buyer=False,
            stock_available=True,
        )
        for platform in PLATFORMS
    ]


def _measure(name: str, texts: list[str], rounds: int, *, cached: bool = False) -> Row:
    from kefu.compliance.scanner import judge

    def check_text(text: str, *, context: CheckContext) -> object:
        # Uncached unless asked: the check itself is what a new reply costs.
        if cached:
            from kefu.compliance.scanner import check_text as cached_check

            return cached_check(text, context=context)
        return judge(text, context=context)

    contexts = every_context()
    for text in texts[:50]:  # warm caches (per-character folding, automaton)
        check_text(text, context=contexts[0])
    wall: list[int] = []
    cpu: list[int] = []
    # Wall time includes the moments another process holds the core (the machine is shared);
    # CPU time (this thread's own) is what a core spends per check, so msgs/s per core uses it.
    for i in range(rounds):
        text = texts[i % len(texts)]
        context = contexts[i % len(contexts)]
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        check_text(text, context=context)
        wall.append(time.perf_counter_ns() - t0)
        cpu.append(time.thread_time_ns() - c0)
    return {
        "name": name,
        "checks": rounds,
        "avg_chars": round(statistics.fmean(len(t) for t in texts), 1),
        "msgs_per_s_per_core": round(rounds / (sum(cpu) / 1e9)),
        **harness.summary([t / 1000 for t in cpu], "cpu_", unit="us"),
        **harness.summary([t / 1000 for t in wall], "wall_", unit="us"),
    }


def run() -> list[Row]:
    harness.setup_django()
    checks = harness.knob("KEFU_BENCH_CHECKS", 20_000, quick=1_000)
    t0 = time.perf_counter()
    from kefu.compliance.scanner import CheckContext, check_text

    check_text("冷启动", context=CheckContext())  # builds the automaton
    cold_ms = round((time.perf_counter() - t0) * 1000, 1)

    from kefu.compliance.corpus import load

    corpus = [e.text for split in ("tuning", "holdout") for e in load(split)]
    rows = [
        {
            "name": "cold start (import + automaton)",
            "ms": cold_ms,
            "load_avg_1m": harness.loadavg(),
            "cpus": os.cpu_count() or 0,
        },
        _measure("compliant reply, simplified zh ~100ch", [ZH_100], checks),
        _measure("compliant reply, traditional zh ~100ch", [ZH_HANT_100], checks),
        _measure("compliant reply, English ~90ch", [EN_100], checks),
        _measure("compliant reply, Russian + Spanish ~100ch", [RU_ES_100], checks),
        _measure("violating reply, many findings ~90ch", [VIOLATING_100], checks),
        _measure("labelled corpus, all packs", corpus, checks),
        _measure("campaign: one text, many buyers (verdict cache)", [ZH_100], checks, cached=True),
    ]
    return rows
