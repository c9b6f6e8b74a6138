"""Request-wide concerns: the interface language (zh-Hans or English), request ids and the
Content-Security-Policy."""

from __future__ import annotations

import logging
import re
import uuid
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kefu.core.clientip import client_ip


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response

    @staticmethod
    def _language(request: HttpRequest) -> str:
        supported = {code for code, _ in settings.LANGUAGES}
        # The user is resolved lazily by AuthenticationMiddleware; sessions keep the choice too.
        chosen = request.session.get("kefu_language") if hasattr(request, "session") else None
        if chosen in supported:
            return str(chosen)
        from_query = request.GET.get("lang")
        if from_query in supported:
            return str(from_query)
        if request.path.startswith("/chat/"):
            # Buyers abroad: Chinese only when their browser asks for it, else English. The
            # widget's views then choose among its four languages (conversations.widget_views).
            accept = request.headers.get("Accept-Language", "").lower()
            return "zh-hans" if accept.startswith("zh") else "en"
        return translation.get_language_from_request(request) or settings.LANGUAGE_CODE


class ContentSecurityPolicyMiddleware:
    """Send `settings.KEFU_CONTENT_SECURITY_POLICY` on every answer that has none.

    Pages carry no inline script or style attribute (tests/core/test_security_headers.py
    checks the templates), so a policy of 'self' only holds; an injected `<script>` or
    `onerror=` would not run even if escaping ever failed. Pages a seller embeds on another
    site (the chat widget is framed there) keep their framing allowed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.KEFU_CONTENT_SECURITY_POLICY
        self.framed_policy = "; ".join(
            part
            for part in self.policy.split(";")
            if part.strip() and not part.strip().startswith("frame-ancestors")
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response.headers:
            framed = getattr(response, "xframe_options_exempt", False)
            response.headers["Content-Security-Policy"] = (
                self.framed_policy if framed else self.policy
            )
        return response


class ShopTimezoneMiddleware:
    """Times a seller reads are in the shop's time zone: templates convert every aware
    datetime to the active zone, so activating it here covers every page and partial.

    The signed-in login's shop decides; pages without one (the chat widget) activate their
    shop's zone themselves. UTC stays the zone of storage and of the API's ISO times.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        shop = getattr(user, "shop", None) if getattr(user, "is_authenticated", False) else None
        zone = getattr(shop, "timezone", "")
        if zone:
            timezone.activate(zoneinfo.ZoneInfo(zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


log = logging.getLogger("kefu.errors")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdMiddleware:
    """Give every request an id (a proxy's `X-Request-ID`, else a new one), echo it in the
    answer, and log any exception no view handled with it, so a seller's "it said error" can
    be found in the logs. Django's own request logger stays silent outside DEBUG."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("X-Request-ID", request_id)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        user = getattr(request, "user", None)
        log.error(
            "unhandled_exception request_id=%s method=%s path=%s user=%s ip=%s",
            getattr(request, "request_id", "-"),
            request.method,
            request.path,
            getattr(user, "pk", None),
            client_ip(request),
            exc_info=exception,
        )


# What a database or Redis that is down or restarting raises: the request did nothing durable
# (its transaction rolled back), so the caller may simply send it again.
_UNAVAILABLE = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

RETRY_AFTER_SECONDS = 2


class UnavailableMiddleware:
    """A request that failed because the database or Redis is unreachable (a restart, a
    failover, SQLite busy past its timeout) answers 503 with `Retry-After`, not 500: a
    marketplace connector or a load balancer then retries instead of reporting a bug, and
    the webhook guide promises that a message without a 2xx may be sent again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, _UNAVAILABLE):
            return None
        log.warning(
            "service_unavailable request_id=%s method=%s path=%s error=%s: %s",
            getattr(request, "request_id", "-"),
            request.method,
            request.path,
            type(exception).__name__,
            str(exception)[:200],
        )
        detail = translation.gettext("The service is briefly unavailable. Please try again.")
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": detail}, status=503)
        else:
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class RequestSizeMiddleware:
    """Refuse a request body over the upload limit before anything parses it (413).

    The largest body Kefu takes is an order export (`KEFU_IMPORT_MAX_UPLOAD_BYTES`, plus room
    for the form around it); a larger one is refused from its Content-Length, so no
    multipart parser copies it to disk. The importer still counts the bytes it stores, for a
    body sent without a length.
    """

    SLACK = 1 << 20

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.KEFU_IMPORT_MAX_UPLOAD_BYTES + self.SLACK
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = translation.gettext(
                "The file is too large: %(size)s MB; the limit is %(limit)s MB."
            ) % {
                "size": length // 2**20,
                "limit": settings.KEFU_IMPORT_MAX_UPLOAD_BYTES // 2**20,
            }
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
