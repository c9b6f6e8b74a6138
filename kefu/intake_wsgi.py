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

import os

from django.core.handlers.wsgi import WSGIHandler

SETTINGS_MODULE = "kefu.intake_settings"


def create_application() -> WSGIHandler:
    """The WSGI application on the intake settings, whatever DJANGO_SETTINGS_MODULE said."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
