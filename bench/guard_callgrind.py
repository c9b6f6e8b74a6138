"""Instructions per rule-guard check under callgrind, the method of decisions §115/§116.

    PYTHONHASHSEED=0 valgrind --tool=callgrind --toggle-collect='functools_reduce*' \
        --callgrind-out-file=OUT .venv/bin/python -m bench.guard_callgrind en

50 warm-up checks, then 1,000 checks over the four platforms (free shipping, a recipient who
did not pay, stock known) inside one `functools.reduce`, so `--toggle-collect` counts only
them: PROGRAM TOTALS / 1,000 is the cost of one check. Run it under the bench lock.
"""

from __future__ import annotations

import functools
import os
import sys

REPLIES = {"zh": "ZH_100", "zh_hant": "ZH_HANT_100", "en": "EN_100", "ru_es": "RU_ES_100"}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()
    from bench import bench_compliance
    from kefu.compliance.scanner import judge

    text: str = getattr(bench_compliance, REPLIES[argv[0] if argv else "en"])
    contexts = bench_compliance.every_context()
    n = len(contexts)
    for i in range(50):
        judge(text, context=contexts[i % n])
    functools.reduce(lambda _, i: judge(text, context=contexts[i % n]), range(1000), None)


if __name__ == "__main__":
    main(sys.argv[1:])
