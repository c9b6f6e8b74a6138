"""The WSGI intake server: only the signed inbound webhooks, for high message rates.

`kefu run --intake-port PORT` serves this with granian (threads, one process per core) beside
the ASGI server, which keeps the pages, the API and the sockets (decisions §48). The webhook
handlers are the workbench's own (``kefu.integrations.api`` through ``kefu.api``): the same
signature check, rate limits, answers and queue; only the middleware around them is thinner
(``kefu.intake_settings``). Any other path is 404.

The single-message webhook, the one sent thousands of times a second, is answered by
`LeanIntake` in front of Django's handler (decisions §78): the same functions (signature and
limits, parsing and checks, the queue) without the handler, URL resolver, middleware chain,
ninja operation and response objects around them, whose CPU was most of the request's. Every
other request, and any the lean path cannot answer exactly as Django would (a query string, a
cookie, an unknown host, a body over the webhook's limit, ...), goes to Django's handler.

granian loads it as ``kefu.intake_wsgi:served_application`` (a factory); the routes are
``kefu.intake_urls``.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import signal
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.client import responses
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.cache import caches, close_caches
from django.core.exceptions import DisallowedHost
from django.core.handlers.base import reset_urlconf
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls import set_urlconf
from django.utils import translation
from django.utils.log import log_response

SETTINGS_MODULE = "kefu.intake_settings"

# What a WSGI server passes and calls (PEP 3333), kept loose: gunicorn and granian differ.
StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WSGIApplication = Callable[[Environ, StartResponse], Iterable[bytes]]

SINGLE_PATH = "/api/v1/inbound/messages"
# The environ values Django's request-wide decisions read for this route: the host check
# (CommonMiddleware's `get_host`), HTTPS (`is_secure`, the SSL redirect, HSTS) and the
# language of refusals (UserLanguageMiddleware). A query string or a cookie would add more
# (`?lang=`, the language cookie, the query's control characters): such requests go to Django.
_CONTEXT_KEYS = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_ACCEPT_LANGUAGE",
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


@dataclass(frozen=True)
class _Context:
    """What the middleware chain decides from a request's host, scheme and Accept-Language:
    its language and the security headers it adds to every answer."""

    language: str
    security_headers: tuple[tuple[str, str], ...]


class LeanIntake:
    """`POST /api/v1/inbound/messages` answered without Django's handler; all else through it.

    The answer is the route's own: `verified_shop` (what the route's auth class calls) then
    `single_message` (what the route's view calls), rendered as `JsonResponse` would; a
    refusal or error raised on the way goes through the API's exception handlers and the
    middleware's `process_exception`, as it would in the handler. The headers the middleware
    adds (security, `X-Request-ID`, `Content-Language`, `Content-Length`) are added here in
    the same order, from what Django's own middleware decided for the request's host, scheme
    and language (computed once per distinct combination, through Django's functions)."""

    def __init__(self, django: WSGIHandler) -> None:
        # Imported here: the API (and with it the models) only once Django is set up.
        from kefu.api import api
        from kefu.core.middleware import RequestIdMiddleware, UnavailableMiddleware
        from kefu.intake_urls import server_error
        from kefu.integrations.api import single_message
        from kefu.integrations.signing import SHOP_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
        from kefu.integrations.webhook_auth import ParsedBody, verified_shop

        self.django = django
        self.api = api
        self.single_message = single_message
        self.verified_shop = verified_shop
        self.parsed_body = ParsedBody
        self.server_error = server_error
        self.shop_key = _environ_key(SHOP_HEADER)
        self.signature_key = _environ_key(SIGNATURE_HEADER)
        self.timestamp_key = _environ_key(TIMESTAMP_HEADER)
        self.most = settings.KEFU_MAX_INBOUND_BODY_BYTES

        def unused(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
            raise AssertionError("the lean path calls no view through middleware")

        self.security = SecurityMiddleware(unused)
        # process_exception runs bottom-up in Django's chain: Unavailable, then RequestId.
        self.on_exception = [
            UnavailableMiddleware(unused).process_exception,
            RequestIdMiddleware(unused).process_exception,
        ]
        self.contexts: dict[tuple[Any, ...], _Context | None] = {}
        self.started_keys = _receiver_keys(signals.request_started, _STARTED)
        self.finished_keys = _receiver_keys(signals.request_finished, _FINISHED)
        # Only the settings the lean path reproduces; anything else in the chain (another
        # middleware, a denied user agent, www redirects, a smaller upload limit) and every
        # request goes through Django.
        from kefu import intake_settings

        self.enabled = (
            os.environ.get("KEFU_INTAKE_LEAN", "1") != "0"
            and list(settings.MIDDLEWARE) == intake_settings.MIDDLEWARE
            and not settings.DISALLOWED_USER_AGENTS
            and not settings.PREPEND_WWW
            and self.most <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            and self.most <= settings.KEFU_IMPORT_MAX_UPLOAD_BYTES
            and (
                not settings.SECURE_PROXY_SSL_HEADER
                or settings.SECURE_PROXY_SSL_HEADER[0] == "HTTP_X_FORWARDED_PROTO"
            )
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        length = self._length(environ) if self.enabled else None
        context = self._context(environ) if length is not None else None
        if context is None:
            return self.django(environ, start_response)
        direct = self._only_djangos_receivers()
        if direct:
            _request_started()
        else:
            signals.request_started.send(sender=WSGIHandler, environ=environ)
        try:
            body = environ["wsgi.input"].read(length) if length else b""
            given = environ.get("HTTP_X_REQUEST_ID", "")
            request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
            translation.activate(context.language)
            try:
                status, headers, content = self._answer(environ, body, request_id)
            finally:
                translation.deactivate()
        finally:
            if direct:
                _request_finished()
            else:
                signals.request_finished.send(sender=WSGIHandler)
        headers_present = {name.lower() for name, _ in headers}
        if "content-length" not in headers_present:
            headers.append(("Content-Length", str(len(content))))
        if "content-language" not in headers_present:
            headers.append(("Content-Language", context.language))
        if "x-request-id" not in headers_present:
            headers.append(("X-Request-ID", request_id))
        headers.extend(h for h in context.security_headers if h[0].lower() not in headers_present)
        start_response(f"{status} {responses.get(status, 'Unknown Status Code')}", headers)
        return [content]

    def _only_djangos_receivers(self) -> bool:
        """Whether the request signals have Django's own receivers and no others: then the
        lean path does their work itself (`_request_started`, `_request_finished`), without
        the signals' dispatch (decisions §89). Any other receiver connected, now or later:
        the signals are sent as the handler sends them."""
        return (
            tuple(r[0] for r in signals.request_started.receivers) == self.started_keys
            and tuple(r[0] for r in signals.request_finished.receivers) == self.finished_keys
        )

    def _length(self, environ: Environ) -> int | None:
        """The body's length when the lean path takes the request, else None."""
        if (
            environ.get("PATH_INFO") != SINGLE_PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or environ.get("QUERY_STRING")
            or environ.get("HTTP_COOKIE")
        ):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        # Larger: Django refuses it (the webhook's 413, or the upload limit's) as it always has.
        return length if 0 <= length <= self.most else None

    def _context(self, environ: Environ) -> _Context | None:
        key = tuple(environ.get(name) for name in _CONTEXT_KEYS)
        try:
            return self.contexts[key]
        except KeyError:
            pass
        context = self._decide(key)
        if len(self.contexts) > 1024:  # hosts and languages a sender makes up
            self.contexts.clear()
        self.contexts[key] = context
        return context

    def _decide(self, key: tuple[Any, ...]) -> _Context | None:
        """What Django's middleware decides for a request with these values, asked of Django's
        own middleware; None when it would not let the request reach the view (a host not in
        ALLOWED_HOSTS, a redirect to HTTPS)."""
        from kefu.core.middleware import UserLanguageMiddleware

        environ = {name: value for name, value in zip(_CONTEXT_KEYS, key, strict=True)}
        environ = {k: v for k, v in environ.items() if v is not None}
        environ.update(REQUEST_METHOD="POST", PATH_INFO=SINGLE_PATH, **{"wsgi.input": io.BytesIO()})
        environ.setdefault("wsgi.url_scheme", "http")
        environ.setdefault("SERVER_NAME", "")
        environ.setdefault("SERVER_PORT", "80")
        request = WSGIRequest(environ)
        try:
            request.get_host()
        except DisallowedHost:
            return None
        if self.security.process_request(request) is not None:
            return None
        blank = HttpResponse()
        before = set(blank.headers)
        self.security.process_response(request, blank)
        added = tuple((k, v) for k, v in blank.items() if k not in before)
        return _Context(UserLanguageMiddleware._language(request), added)

    def _answer(
        self, environ: Environ, body: bytes, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        # One parse of the body for the per-buyer limit and the message (made when needed).
        parsed = self.parsed_body(body)
        try:
            shop, _ = self.verified_shop(
                body,
                signature=environ.get(self.signature_key),
                timestamp=environ.get(self.timestamp_key),
                slug=environ.get(self.shop_key),
                per_buyer=True,
                parsed=parsed,
            )
            status, answer = self.single_message(shop, parsed)
        except Exception as exc:
            request = self._request(environ, body, request_id)
            response = self._refusal(request, exc)
            # As the handler logs every answer of 400 and above (once: the 500 path did).
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
            return response.status_code, list(response.items()), response.content
        # As JsonResponse renders it.
        content = json.dumps(answer, cls=DjangoJSONEncoder).encode()
        if status >= 400:
            request = self._request(environ, body, request_id)
            logged = HttpResponse(status=status)
            log_response(
                "%s: %s", logged.reason_phrase, request.path, response=logged, request=request
            )
        return status, [("Content-Type", "application/json")], content

    @staticmethod
    def _request(environ: Environ, body: bytes, request_id: str) -> WSGIRequest:
        """The Django request, for the paths that hand one to Django's code (refusals, logs)."""
        request = WSGIRequest({**environ, "wsgi.input": io.BytesIO(body)})
        request.request_id = request_id  # type: ignore[attr-defined]
        return request

    def _refusal(self, request: WSGIRequest, exc: Exception) -> HttpResponse:
        """The answer Django's handler gives when the route raises `exc`: the API's handler
        for it (401, 413, 429, ...), else the middleware's (503), else the 500 page."""
        try:
            return self.api.on_exception(request, exc)
        except Exception:  # noqa: S110 - not the API's: the middleware's, below
            pass
        for handler in self.on_exception:
            response = handler(request, exc)
            if response is not None:
                return response
        signals.got_request_exception.send(sender=None, request=request)
        response = self.server_error(request)
        log_response(
            "%s: %s",
            responses[500],
            request.path,
            response=response,
            request=request,
            exception=exc,
        )
        return response


# Django's own receivers of the request signals (connected by django.db, django.core.cache and
# the handler's module), whose work `_request_started` / `_request_finished` do directly.
_STARTED = (reset_queries, close_old_connections)
_FINISHED = (close_old_connections, close_caches, reset_urlconf)


def _receiver_keys(signal: Signal, expected: tuple[Callable[..., Any], ...]) -> tuple[Any, ...]:
    """The signal's receiver keys when its receivers are exactly `expected` (in any order:
    their work is independent); else a key no signal has (the lean path sends the signal)."""
    live = []
    for entry in signal.receivers:
        ref = entry[1]
        live.append(ref() if isinstance(ref, weakref.ReferenceType) else ref)
    if len(live) != len(expected) or set(live) != set(expected):
        return (object(),)
    return tuple(entry[0] for entry in signal.receivers)


def _request_started() -> None:
    """`request_started`'s receivers: each connection's query log cleared (`reset_queries`),
    a connection that errored or outlived CONN_MAX_AGE closed (`close_old_connections`)."""
    for conn in connections.all(initialized_only=True):
        conn.queries_log.clear()
        conn.close_if_unusable_or_obsolete()


def _request_finished() -> None:
    """`request_finished`'s receivers: `close_old_connections`, `close_caches`,
    `reset_urlconf`."""
    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()
    caches.close_all()
    set_urlconf(None)


def create_application() -> LeanIntake:
    """The WSGI application on the intake settings, whatever DJANGO_SETTINGS_MODULE said."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    from django.core.wsgi import get_wsgi_application

    application = LeanIntake(get_wsgi_application())
    # What start-up built (Django, the models, the API's schemas: ~180,000 objects) lives as
    # long as the process. Left to the collector, each full collection walked all of it while
    # every request thread of the process waited: ~200 ms on the 2-core machine, the slow
    # tail of the webhook's latency (decisions §72). Frozen, the collections see only what
    # requests allocate.
    gc.collect()
    gc.freeze()
    return application


def preload() -> None:
    """Import and build what a worker's `served_application()` will, in granian's main process
    (`kefu.intake_granian`), before it forks the workers: a worker that dies is replaced by a
    fork of that process, which then has only this module's few objects to build instead of
    Django, the models and the API to import (~1.7 s of CPU; 6-24 s of wall time at the
    soak's load, decisions §107). No database connection stays open across the fork."""
    create_application()
    connections.close_all()


def served_application() -> WSGIApplication:
    """What `kefu run`'s granian loads in each of its worker processes: `create_application()`,
    a watch on the process that started the worker, and each request thread's database
    connections closed when granian ends the thread (decisions §81)."""
    application = create_application()
    threading.Thread(
        target=_leave_with_parent,
        args=(os.getppid(), os.getpid()),
        name="kefu-parent-watch",
        daemon=True,
    ).start()
    ended = _ThreadEnd()

    def serve(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if ended.closer is None:
            ended.closer = _CloseOnThreadEnd()
        return application(environ, start_response)

    return serve


class _ThreadEnd(threading.local):
    closer: _CloseOnThreadEnd | None = None


class _CloseOnThreadEnd:
    """Closes the database connections of the thread it was made on when that thread ends.

    granian's request threads are not a fixed pool: one idle for
    `--blocking-threads-idle-timeout` ends and a later request starts another. Django keeps a
    connection per thread; that of an ended thread stayed open until a garbage collection
    happened to find it (measured: 8 PostgreSQL connections more after each idle spell). This
    object lives only in its thread's local storage, so it goes, and closes them, as the
    thread does."""

    def __init__(self) -> None:
        from django.db import connections

        self.wrappers = [connections[alias] for alias in connections]

    def __del__(self) -> None:
        for wrapper in self.wrappers:
            try:
                # Possibly run by another thread: closing is this object's only use of it.
                wrapper.inc_thread_sharing()
                wrapper.close()
            except Exception:  # noqa: S110 - a connection already broken is closed enough
                pass


PARENT_CHECK_SECONDS = 1.0


def _leave_with_parent(parent: int, me: int) -> None:
    """Stop this worker once the process that started it is gone. granian's workers outlive a
    main process killed with SIGKILL and go on serving (each on a listening socket of its own)
    beside the server `kefu run` starts again, unreachable by its Ctrl-C; gunicorn's workers
    left when their master went, and so do these: SIGTERM, granian's graceful stop of the
    worker (what it serves is finished), then an exit should that not end it."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os.kill(me, signal.SIGTERM)
    time.sleep(30)
    os._exit(1)
