"""`make bench`: run every bench/bench_*.py, write JSON under bench/results/, print a table.

Each module exposes `run() -> list[dict]`; every dict is one measured row with a `name`
and numeric fields. `python -m bench NAME [NAME ...]` runs only those bench_NAME.py. A module
whose result depends on the database may define `result_name() -> str` (called after `run()`)
so that the SQLite and the PostgreSQL result are kept side by side.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    known = sorted(p.stem[6:] for p in Path(__file__).parent.glob("bench_*.py"))
    names = argv or known
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.time()
        rows = module.run()
        result = module.result_name() if hasattr(module, "result_name") else name
        doc = {
            "benchmark": name,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(time.time() - started, 2),
            "machine": {
                "python": platform.python_version(),
                "cpu_count": __import__("os").cpu_count(),
            },
            "rows": rows,
        }
        (RESULTS / f"{result}.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        )
        print(f"\n== {name} ({doc['seconds']} s) -> bench/results/{result}.json")
        for row in rows:
            fields = "  ".join(f"{k}={v}" for k, v in row.items() if k != "name")
            print(f"  {row['name']:<40} {fields}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
