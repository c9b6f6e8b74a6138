"""The HTTP API root at /api/v1/; each domain mounts its own router."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from kefu.accounts import api as accounts_api
from kefu.automation import api as automation_api
from kefu.care import api as care_api
from kefu.compliance import api as compliance_api
from kefu.conversations import api as conversations_api
from kefu.core.controls import CleanParser
from kefu.core.ratelimit import RateLimited
from kefu.integrations import api as integrations_api
from kefu.metrics import api as metrics_api
from kefu.orders import api as orders_api

api = NinjaAPI(
    title="Kefu API",
    version="1",
    urls_namespace="api",
    description="Inbound marketplace webhooks and everything an agent or owner does in the UI.",
    parser=CleanParser(),
)

api.add_router("/inbound", integrations_api.router)
api.add_router("/conversations", conversations_api.router)
api.add_router("/shop", accounts_api.router)
api.add_router("/orders", orders_api.router)
api.add_router("/automation", automation_api.router)
api.add_router("/compliance", compliance_api.router)
# At the address where API clients first met the case archive.
api.add_router("/metrics/cases", care_api.router)
api.add_router("/metrics", metrics_api.router)


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


# A service's refusal is the API's answer: 403 for a missing right, 400 for bad input.
@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "forbidden"}, status=403)


@api.exception_handler(DjangoValidationError)
def on_refused_input(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=400)


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = api.create_response(
        request, {"detail": exc.detail, "retry_after": exc.retry_after}, status=429
    )
    response["Retry-After"] = str(exc.retry_after)
    return response
