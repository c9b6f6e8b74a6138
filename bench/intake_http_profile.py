"""The WSGI intake app's CPU per single-message webhook in process, without an HTTP server.

`python -m bench.intake_http_profile [N]` (with the backend's KEFU_* environment; the
database migrated) calls the intake server's WSGI application (`kefu.intake_wsgi`, intake
settings: the lean single-webhook path, or Django's handler with `KEFU_INTAKE_LEAN=0`)
directly with N pre-signed new messages (after 100 for warm-up) for the shop
"bench-profile" (created on first use) and prints its CPU and wall ms per request;
`KEFU_BENCH_PROFILE=1` adds a cProfile listing. The queued rows are deleted at the end.
Used for issue 15's HTTP side (decisions §60).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time
from typing import Any

SLUG = "bench-profile"


def main(argv: list[str]) -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "kefu.intake_settings"
    os.environ.setdefault("KEFU_ALLOWED_HOSTS", "127.0.0.1")
    from kefu.intake_wsgi import create_application

    app = create_application()
    from bench import harness
    from kefu.accounts.models import Shop
    from kefu.conversations.models import IntakeMessage

    shop = Shop.objects.filter(slug=SLUG).first() or harness.bench_shop(SLUG, "Profile").shop
    n = int(argv[0]) if argv else 1000
    run = str(int(time.time()))
    bodies = [
        harness.inbound_body(f"prof-{run}-{i}", f"b{i % 500}", "product_page", harness.TEXTS[0])
        for i in range(n + 100)
    ]

    def call(body: bytes) -> None:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/inbound/messages",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
        }
        for name, value in harness.webhook_headers(SLUG, shop.webhook_secret, body).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status: list[str] = []
        answer = app(environ, lambda s, h, *a: status.append(s))
        b"".join(answer)
        if not status[0].startswith("202"):
            raise RuntimeError(f"answered {status[0]}")

    for body in bodies[:100]:
        call(body)
    profile = cProfile.Profile() if os.environ.get("KEFU_BENCH_PROFILE") == "1" else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    for body in bodies[100:]:
        call(body)
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"CPU ms/request {1000 * cpu / n:.2f} wall ms/request {1000 * wall / n:.2f}")
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    IntakeMessage.objects.filter(shop=shop).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
