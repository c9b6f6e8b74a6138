"""`make bench` / `python -m bench [NAME ...] [--backends B,...] [--quick]`: run the benches.

A bench is bench/bench_NAME.py. One that needs no database defines `run() -> list[Row]` and
writes bench/results/NAME.json. One that does lists the backends it runs on in `BACKENDS` and
defines `run_on(backend) -> list[Row]`; it is called once per backend with a migrated, empty
database (bench.harness.open_backend) and writes bench/results/NAME-BACKEND.json; with
`OWN_SERVICES = True` it is called with the backend's label and brings its own database
(bench_soak: a PostgreSQL and a Redis it may restart).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from bench import harness


def main(argv: list[str]) -> int:
    known = sorted(p.stem[6:] for p in Path(__file__).parent.glob("bench_*.py"))
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of {', '.join(known)}")
    parser.add_argument(
        "--backends",
        help=f"comma-separated, from {', '.join(harness.BACKENDS)} (default: all a bench supports;"
        " also KEFU_BENCH_BACKENDS)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    # Environment variables, so that the benches' helper subprocesses see them too.
    if args.backends:
        os.environ["KEFU_BENCH_BACKENDS"] = args.backends
    if args.quick:
        os.environ["KEFU_BENCH_QUICK"] = "1"
    failed: list[str] = []
    for name in args.names or known:
        module = importlib.import_module(f"bench.bench_{name}")
        supported: tuple[str, ...] = getattr(module, "BACKENDS", ())
        if not supported:
            started = time.time()
            harness.write_result(name, None, module.run(), started)
            continue
        for label in harness.selected_backends(supported):
            started = time.time()
            try:
                if getattr(module, "OWN_SERVICES", False):
                    # It starts (and restarts) services of its own: it gets the label only.
                    rows = module.run_on(label)
                else:
                    with harness.open_backend(label, name) as backend:
                        rows = module.run_on(backend)
            except harness.BenchFailed as exc:
                # Kept, so the failure can be read; the other backends still run.
                rows = exc.rows
                failed.append(f"{name} {label}: {exc}")
            harness.write_result(name, label, rows, started)
    for failure in failed:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
