"""Keyword matching and script suggestion speed (issue 4, R-08 and R-13).

Rows:
- keywords_9_rules / keywords_10000_rules: one process (= one core) matching a stream of
  mixed English/Chinese buyer messages; messages/s and characters/s per core.
  KEFU_BENCH_MESSAGES sets the stream length (default 200,000; the issue's target run is
  1,000,000 messages: `KEFU_BENCH_MESSAGES=1000000 python -m bench automation`).
- keywords_length_N: the same 10,000-rule matcher on messages of N characters; ns per
  character stays flat when matching is linear in message length.
- suggest_1000_scripts: p50/p99 latency of ranking one buyer message against a fitted index
  of 1,000 scripts (the cached, per-process path), plus the time to fit the index.
"""

from __future__ import annotations

import random
import time

from bench import harness
from bench.harness import Row
from kefu.automation.keywords import KeywordMatcher
from kefu.automation.suggest import ScriptDoc, SuggestionIndex

SEED = 20261123
LATIN = [
    "ship",
    "refund",
    "coupon",
    "tracking",
    "parcel",
    "order",
    "size",
    "colour",
    "cancel",
    "discount",
    "customs",
    "delivery",
    "wrong",
    "broken",
    "late",
    "pay",
    "invoice",
    "gift",
    "return",
    "black",
    "white",
    "lamp",
    "cable",
    "charger",
    "box",
]
HAN = (
    "发货退款优惠券物流包裹订单尺寸颜色取消折扣海关"
    "快递破损赠品发票退货黑白灯线充电器盒子什么时候请问"
)


def _keywords(n: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        if rng.random() < 0.5:
            out.add(
                " ".join(rng.choice(LATIN) for _ in range(rng.randint(1, 3)))
                + str(rng.randint(0, 999) if n > 50 else "")
            )
        else:
            out.add("".join(rng.choice(HAN) for _ in range(rng.randint(2, 5))))
    return sorted(out)


def _message(rng: random.Random, length: int) -> str:
    parts: list[str] = []
    size = 0
    chinese = rng.random() < 0.5
    while size < length:
        piece = (
            "".join(rng.choice(HAN) for _ in range(rng.randint(2, 6)))
            if chinese
            else rng.choice(LATIN).capitalize()
            if rng.random() < 0.2
            else rng.choice(LATIN)
        )
        parts.append(piece)
        size += len(piece) + (0 if chinese else 1)
    return ("" if chinese else " ").join(parts)[:length]


def _stream(rng: random.Random, count: int) -> list[str]:
    distinct = [_message(rng, rng.choice((12, 24, 40, 80, 160))) for _ in range(5000)]
    return [distinct[i % len(distinct)] for i in range(count)]


def _match_rate(matcher: KeywordMatcher, messages: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    hits = 0
    for text in messages:
        if matcher.match(text) is not None:
            hits += 1
    return time.perf_counter() - started, hits


def _keyword_rows(count: int) -> list[Row]:
    rng = random.Random(SEED)
    messages = _stream(rng, count)
    chars = sum(len(m) for m in messages)
    rows: list[Row] = []
    for n_rules in (9, 10_000):
        keywords = (
            _keywords(n_rules, rng)
            if n_rules > 9
            else [
                "优惠券",
                "coupon",
                "ship",
                "取消订单",
                "refund",
                "tracking not updated",
                "没收到",
                "customs",
                "发货",
            ]
        )
        t0 = time.perf_counter()
        matcher = KeywordMatcher(enumerate(keywords))
        build_ms = (time.perf_counter() - t0) * 1000
        seconds, hits = _match_rate(matcher, messages)
        rows.append(
            {
                "name": f"keywords_{n_rules}_rules",
                "messages": count,
                "seconds": round(seconds, 2),
                "messages_per_s_per_core": round(count / seconds),
                "chars_per_s_per_core": round(chars / seconds),
                "hit_rate": round(hits / count, 3),
                "build_ms": round(build_ms, 1),
            }
        )
    matcher = KeywordMatcher(enumerate(_keywords(10_000, rng)))
    for length in (50, 500, 5000):
        texts = [_message(rng, length) for _ in range(200)]
        reps = max(1, 200_000 // (length * 20))
        t0 = time.perf_counter()
        for _ in range(reps):
            for text in texts:
                matcher.match(text)
        elapsed = time.perf_counter() - t0
        rows.append(
            {
                "name": f"keywords_length_{length}",
                "ns_per_char": round(elapsed / (reps * len(texts) * length) * 1e9, 1),
                "us_per_message": round(elapsed / (reps * len(texts)) * 1e6, 2),
            }
        )
    return rows


def _suggest_row() -> Row:
    rng = random.Random(SEED)
    stages = ("pre_sale", "in_sale", "after_sale")
    states = ("available_for_pickup", "split_parcels", "delivered", "in_transit", "unpaid")
    docs = []
    for i in range(1000):
        examples = tuple(_message(rng, rng.choice((20, 40))) for _ in range(6))
        docs.append(
            ScriptDoc(
                script_id=i + 1,
                title=f"script {i} " + _message(rng, 20),
                stage=rng.choice(stages),
                topic=rng.choice(LATIN),
                text="\n".join(examples),
                examples=examples,
                order_states=frozenset({rng.choice(states)}) if i % 10 == 0 else frozenset(),
                languages=frozenset({"en", "zh-hans"}),
            )
        )
    t0 = time.perf_counter()
    index = SuggestionIndex(docs)
    fit_ms = (time.perf_counter() - t0) * 1000
    queries = [_message(rng, rng.choice((15, 40, 120))) for _ in range(500)]
    timings: list[float] = []
    for q in queries:
        t = time.perf_counter()
        index.rank(
            text=q,
            stage=rng.choice(stages),
            language="en",
            order_state=rng.choice((None, *states)),
            limit=3,
        )
        timings.append((time.perf_counter() - t) * 1000)
    return {
        "name": "suggest_1000_scripts",
        "queries": len(queries),
        **harness.summary(timings, digits=2),
        "fit_ms": round(fit_ms, 1),
    }


def run() -> list[Row]:
    count = harness.knob("KEFU_BENCH_MESSAGES", 200_000, quick=5_000)
    return [*_keyword_rows(count), _suggest_row()]
