"""The WSGI intake server: only the signed inbound webhooks, for high message rates.

`kefu run --intake-port PORT` serves this with gunicorn (threads, one process per core) beside
the ASGI server, which keeps the pages, the API and the sockets (decisions §48). The webhook
handlers are the workbench's own (``kefu.integrations.api`` through ``kefu.api``): the same
signature check, rate limits, answers and queue; only the middleware around them is thinner
(``kefu.intake_settings``). Any other path is 404.

gunicorn loads it as ``kefu.intake_wsgi:create_application()``; the routes are
``kefu.intake_urls``.
"""

from __future__ import annotations

import gc
import os

from django.core.handlers.wsgi import WSGIHandler

SETTINGS_MODULE = "kefu.intake_settings"


def create_application() -> WSGIHandler:
    """The WSGI application on the intake settings, whatever DJANGO_SETTINGS_MODULE said."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    # What start-up built (Django, the models, the API's schemas: ~180,000 objects) lives as
    # long as the process. Left to the collector, each full collection walked all of it while
    # every request thread of the process waited: ~200 ms on the 2-core machine, the slow
    # tail of the webhook's latency (decisions §72). Frozen, the collections see only what
    # requests allocate.
    gc.collect()
    gc.freeze()
    return application
