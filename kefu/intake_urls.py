"""The routes of the WSGI intake server (``kefu.intake_wsgi``): the signed webhooks and the
health check; any other path is 404 in JSON (no page templates, no session)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path

from kefu.api import api
from kefu.core.views import healthz


def _webhook_routes() -> list[URLPattern | URLResolver]:
    """The API's signed webhook routes (every path with an `inbound` part), nothing else."""
    patterns, app_name, namespace = api.urls
    kept = [p for p in patterns if "inbound" in str(getattr(p, "pattern", ""))]
    return [path("api/v1/", include((kept, app_name), namespace=namespace))]


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        {"detail": "not found: this server takes only the signed webhooks"}, status=404
    )


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "server error"}, status=500)


handler404 = not_found
handler500 = server_error

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", healthz, name="healthz"),
    *_webhook_routes(),
]
