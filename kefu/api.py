"""The HTTP API root at /api/v1/; each domain mounts its own router."""

from __future__ import annotations

from http.client import responses as responses_text
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from kefu.accounts import api as accounts_api
from kefu.automation import api as automation_api
from kefu.care import api as care_api
from kefu.care import followup_api as care_followup_api
from kefu.care import review_api as care_review_api
from kefu.catalog import api as catalog_api
from kefu.compliance import api as compliance_api
from kefu.conversations import api as conversations_api
from kefu.core.controls import CleanParser
from kefu.core.ratelimit import RateLimited
from kefu.core.schema_types import ErrorOut, field_errors
from kefu.integrations import api as integrations_api
from kefu.metrics import api as metrics_api
from kefu.orders import api as orders_api
from kefu.outreach import api as outreach_api
from kefu.outreach import invitation_api

_UNSAFE = {"post", "put", "patch", "delete"}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def document_refusals(schema: dict[str, Any]) -> None:
    """Add the refusals every operation can answer by construction, in the one error shape:

    - 400 when it reads parameters or a body (the validation handler below);
    - 401 when it needs credentials (the auth handler below);
    - 403 for a write a browser session can make (Django's CSRF check);
    - 404 when its path names an object (every lookup is scoped: another shop's id is unknown).

    Other refusals (a missing right on a read, an unknown id in the body, a conflict) are
    declared by the operation itself.
    """
    schema["components"]["schemas"]["ErrorOut"] = ErrorOut.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    schema["components"]["schemas"].update(
        schema["components"]["schemas"]["ErrorOut"].pop("$defs", {})
    )
    for methods in schema["paths"].values():
        for method, operation in methods.items():
            security = [name for option in operation.get("security", []) for name in option]
            refusals = set()
            if operation.get("parameters") or operation.get("requestBody"):
                refusals.add(400)
            if security:
                refusals.add(401)
            if method in _UNSAFE and "ShopSessionAuth" in security:
                refusals.add(403)
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                refusals.add(404)
            responses = operation["responses"]
            for status in sorted(refusals):
                if status not in responses:
                    responses[status] = {
                        "description": responses_text[status],
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    }


_SIGNING_HEADERS = [
    ("X-Kefu-Shop", {"type": "string"}, "the shop's slug; signed with its webhook secret"),
    (
        "X-Kefu-Timestamp",
        {"type": "string", "pattern": "^[0-9]+$"},
        "the signing time in unix seconds; refused outside the replay window",
    ),
]


def _name_the_signing_headers(operation: dict[str, Any]) -> None:
    # The security scheme carries the signature; the shop it is checked against and the
    # signed time are headers of their own, which a client must send too.
    parameters = operation.setdefault("parameters", [])
    for name, schema, description in _SIGNING_HEADERS:
        if not any(p.get("name") == name for p in parameters):
            parameters.append(
                {
                    "in": "header",
                    "name": name,
                    "required": True,
                    "schema": schema,
                    "description": description,
                }
            )


class KefuAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        document_refusals(schema)
        for methods in schema["paths"].values():
            for operation in methods.values():
                if any("SignedWebhook" in option for option in operation.get("security", [])):
                    _name_the_signing_headers(operation)
        return schema


api = KefuAPI(
    title="Kefu API",
    version="1",
    urls_namespace="api",
    description="Inbound marketplace webhooks and everything an agent or owner does in the UI.",
    parser=CleanParser(),
)

api.add_router("/inbound", integrations_api.router)
api.add_router("/inbound", care_review_api.inbound_router)  # POST /inbound/reviews
api.add_router("/conversations", conversations_api.router)
api.add_router("/shop", accounts_api.router)
api.add_router("/orders", orders_api.router)
api.add_router("/catalog", catalog_api.router)
api.add_router("/catalog", integrations_api.catalog_router)
api.add_router("/automation", automation_api.router)
api.add_router("/compliance", compliance_api.router)
# At the address where API clients first met the case archive.
api.add_router("/metrics/cases", care_api.router)
api.add_router("/care", care_api.care_router)
api.add_router("/care", care_review_api.router)
api.add_router("/care", care_followup_api.router)
api.add_router("/outreach", outreach_api.router)
api.add_router("/outreach", invitation_api.router)
api.add_router("/metrics", metrics_api.router)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # The location starts with where the value came from ("query", "path", or "body" and the
    # body's parameter name), which is not part of the field a client sent.
    errors = [
        field_errors([e], skip=2 if e.get("loc", ("",))[0] == "body" else 1)[0] for e in exc.errors
    ]
    return api.create_response(request, {"detail": "invalid input", "errors": errors}, status=400)


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
