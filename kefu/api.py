"""The HTTP API root at /api/v1/; each domain mounts its own router."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kefu.core.modules import optional_module

api = NinjaAPI(
    title="Kefu API",
    version="1",
    urls_namespace="api",
    description="Inbound marketplace webhooks and everything an agent or owner does in the UI.",
)

ROUTER_MODULES = (
    ("kefu.integrations.api", "/inbound"),
    ("kefu.conversations.api", "/conversations"),
    ("kefu.accounts.api", "/shop"),
    ("kefu.orders.api", "/orders"),
    ("kefu.automation.api", "/automation"),
    ("kefu.compliance.api", "/compliance"),
    ("kefu.metrics.api", "/metrics"),
)

for module_name, prefix in ROUTER_MODULES:
    module = optional_module(module_name)
    if module is not None:
        api.add_router(prefix, module.router)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": "invalid input", "errors": exc.errors}, status=400
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "authentication required"}, status=401)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
