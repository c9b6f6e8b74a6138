"""Settings of the WSGI intake server (`kefu run --intake-port`, decisions §48).

The same settings as the workbench, minus what a signed webhook never uses: no sessions,
CSRF, logins, messages or static files, and only the webhook routes (``kefu.intake_wsgi``).
Each thread of the server keeps its database connection between requests: under WSGI the
threads are a fixed pool (processes x threads connections), unlike ASGI's thread per request,
which is why the workbench itself closes its connection after every request.
"""

from __future__ import annotations

import os

from kefu.settings import *  # noqa: F403 - the workbench's settings, then what differs
from kefu.settings import DATABASES as _WORKBENCH_DATABASES

ROOT_URLCONF = "kefu.intake_urls"
WSGI_APPLICATION = "kefu.intake_wsgi.application"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kefu.core.middleware.RequestIdMiddleware",
    "kefu.core.middleware.UnavailableMiddleware",
    "kefu.core.controls.ControlCharacterMiddleware",
    # Refusals a connector reads (a text over the limit) come in the language it asks for.
    "kefu.core.middleware.UserLanguageMiddleware",
    "kefu.core.middleware.RequestSizeMiddleware",
    "django.middleware.common.CommonMiddleware",
]

# A copy: the workbench's dict stays as it is in a process that imports both (the tests).
DATABASES = {
    "default": {
        **_WORKBENCH_DATABASES["default"],
        "CONN_MAX_AGE": int(os.environ.get("KEFU_INTAKE_CONN_MAX_AGE", "300")),
        # No `SELECT 1` before each request's first query (a round trip and ~5 % of the
        # server's CPU per webhook): a connection PostgreSQL dropped (a restart) is noticed by
        # the statement that fails on it instead. The single webhook's INSERT then runs once
        # more on a new connection (``intake_queue.enqueue_message``); any other request on
        # it fails with 503 (UnavailableMiddleware; nothing committed, so nothing answered
        # 2xx is lost) and Django closes the connection after it, so the thread's next
        # request opens a new one.
        "CONN_HEALTH_CHECKS": False,
    }
}
