"""Issue 10: the whole API, fuzzed from its own schema (`/api/v1/openapi.json`) with
schemathesis, as a shop owner with an API token and as a marketplace signing its webhooks.

Every generated request must answer something the schema documents — a status code it lists,
in its content type, with a body that matches — and never a 5xx. Valid and invalid input are
both generated; ids in paths and bodies are steered to the shop's real conversations, orders,
scripts and so on half of the time, so the fuzzing reaches past "404, no such id".

Reproducible: Hypothesis is derandomised (the same cases on every run and machine). When it
fails, the message names the operation and gives a curl line for the failing case.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kefu.accounts.models import Shop, User
from kefu.accounts.tokens import create_api_token
from kefu.integrations.signing import signed_headers
from tests.helpers import post_order_signed, post_signed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Signed by the marketplace with the shop's webhook secret, not by a token.
SIGNED = {
    "/api/v1/inbound/messages",
    "/api/v1/inbound/messages/batch",
    "/api/v1/inbound/messages/status",
    "/api/v1/orders/inbound",
    "/api/v1/orders/tracking/inbound",
    "/api/v1/catalog/inbound",
}
# The product webhook names the shop's own products and logins: steered like the others.
CATALOG_STRINGS = {
    "external_id": ["P-100"],
    "owner": ["lily"],
    "url": ["https://shop.example.com/p/100"],
    "image_url": ["https://img.example.com/p100.jpg"],
}
# Cases per operation and kind of input (a failing one adds Hypothesis's shrinking calls).
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 7}
MIN_CASES = 1_000
# Operations that would end the fuzzing itself, each with the reason. Revoking a token: a
# generated id is as likely to be the fuzzing token's own (ids start at 1), after which every
# case is a documented 401 and proves nothing; revocation has its own tests in
# tests/accounts/. Nothing over the API rotates the webhook secret.
EXCLUDED = {"POST /api/v1/shop/tokens/{token_id}/revoke"}


@contextmanager
def in_process_requests() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request (Django's signal),
    which would end the test's transaction; Django's own test client unhooks it the same way
    (and hooks it again after each of its requests)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _seed(shop: Shop, owner: User, token: str) -> dict[str, list[int]]:
    """A shop in use, made the way a seller's shop is: webhooks, then the owner's API calls.
    Returns the ids an operation may name, by parameter name."""
    for n, (buyer, entry, text) in enumerate(
        [
            ("b-1", "product_page", "Is the desk lamp in stock?"),
            ("b-2", "order_detail", "Where is my parcel? 包裹在哪里"),
            ("b-3", "dispute", "I want a refund"),
        ]
    ):
        payload = {
            "external_id": f"seed-{n}",
            "buyer": {"external_id": buyer, "name": f"Buyer {n}"},
            "entry_point": entry,
            "text": text,
            "order_external_id": "8001" if buyer == "b-2" else None,
            "product_external_id": "P-100" if buyer == "b-1" else None,
        }
        assert post_signed(Client(), shop, payload).status_code == 202
    order = {
        "external_id": "8001",
        "buyer": {"external_id": "b-2", "name": "Buyer 1"},
        "status": "shipped",
        "currency": "USD",
        "total_amount": "25.00",
        "paid_amount": "25.00",
        "placed_at": "2026-11-01T10:00:00+08:00",
        "items": [{"title": "Desk lamp", "product_external_id": "P-100", "unit_price": "25.00"}],
        "parcels": [{"tracking_number": "LP001", "carrier": "cainiao"}],
    }
    assert post_order_signed("/inbound", order, shop).status_code == 201
    tracking = {
        "tracking_number": "LP001",
        "events": [{"status": "in_transit", "occurred_at": "2026-11-03T10:00:00+08:00"}],
    }
    assert post_order_signed("/tracking/inbound", tracking, shop).status_code == 200

    api = Client(headers={"Authorization": f"Bearer {token}"})

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = api.post(
            f"/api/v1{path}", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 201, response.content
        answer: dict[str, Any] = response.json()
        return answer

    conversations = [c["id"] for c in api.get("/api/v1/conversations?view=all").json()]
    script = post(
        "/automation/scripts",
        {
            "stage": "after_sale",
            "topic": "tracking",
            "title": "Where is my parcel",
            "examples": "where is my parcel\nparcel not moving",
            "variants": {"en": "Hello {buyer_name}, your parcel {tracking_numbers} is on its way."},
        },
    )
    quick = post("/automation/quick-replies", {"title": "Thanks", "body": "Thank you!"})
    mark = post(f"/conversations/{conversations[0]}/marks", {"color": "yellow", "note": "call"})
    agent = post("/shop/agents", {"login": "fuzz-agent", "groups": ["pre_sale"]})
    # Ids steer to the bulb only: the fuzzed DELETE and PATCH must leave P-100, which the
    # product webhook's cases update, as it is.
    bulb = post(
        "/catalog/products", {"external_id": "P-200", "title": "Bulb", "related": ["P-100"]}
    )
    segment = post("/outreach/segments", {"name": "Past buyers", "filters": {"min_spend": "1"}})
    campaign = post(
        "/outreach/campaigns",
        {
            "name": "Double 11",
            "segment_id": segment["id"],
            "texts": {"en": "Hi {name}, Double 11 starts tomorrow."},
            "starts_at": "2030-11-10T00:00:00Z",
        },
    )
    orders = [o["id"] for o in api.get("/api/v1/orders").json()]
    buyers = list(shop.buyers.values_list("pk", flat=True))  # type: ignore[attr-defined]
    return {
        "conversation_id": conversations,
        "order_id": orders,
        "script_id": [script["id"]],
        "reply_id": [quick["id"]],
        "mark_id": [mark["id"]],
        "agent_id": [agent["id"], owner.pk],
        "buyer_id": buyers,
        "product_id": [bulb["id"]],
        "segment_id": [segment["id"]],
        "campaign_id": [campaign["id"]],
    }


def _steer(values: dict[str, Any] | None, known: dict[str, list[int]]) -> None:
    """An even generated id becomes one of the shop's own: which one follows from the value,
    so the cases stay reproducible."""
    if not isinstance(values, dict):
        return
    for name, value in values.items():
        ids = known.get(name)
        if ids and isinstance(value, int) and not isinstance(value, bool) and value % 2 == 0:
            values[name] = ids[(value // 2) % len(ids)]


def _fuzz(operation: Any, mode: GenerationMode, examples: int, send: Any) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        # Slow and filtered generation are expected for the larger bodies.
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        send(case)

    run()


# Strings the marketplace sends that the shop knows: a random one is refused (an unknown
# status, a parcel nobody shipped) before the webhook does anything.
KNOWN_STRINGS = {
    "tracking_number": ["LP001"],
    "order_external_id": ["8001"],
    "product_external_id": ["P-100"],
    "status": ["WAIT_SELLER_SEND_GOODS", "shipped", "paid"],
}
TRACKING_STATUSES = ["InTransit", "customs", "delivered"]


def _pick(values: dict[str, Any], name: str, choices: list[str], every: int = 2) -> None:
    value = values.get(name)
    if isinstance(value, str) and len(value) % every != 0:
        values[name] = choices[len(value) % len(choices)]


def _steer_webhook(body: Any) -> None:
    """Like `_steer`, for the strings of a webhook body: one of odd length becomes known."""
    if not isinstance(body, dict):
        return
    for name, choices in KNOWN_STRINGS.items():
        _pick(body, name, choices)
    events = body.get("events")
    # One unknown status refuses the whole update, so most of them are made known.
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict):
            _pick(event, "status", TRACKING_STATUSES, every=5)


@pytest.mark.slow
def test_every_operation_answers_what_the_schema_says(shop, owner, product) -> None:
    _, token = create_api_token(user=owner, name="fuzz")
    known = _seed(shop, owner, token)
    with in_process_requests():
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {o.path for o in operations} >= SIGNED  # the webhooks' bodies could be built
    assert {o.label for o in operations} >= EXCLUDED
    cases: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    failures: list[str] = []

    def send(case: Any) -> None:
        cases[case.operation.label] += 1
        _steer(case.path_parameters, known)
        _steer(case.body, known)
        if case.operation.path in SIGNED:
            _steer_webhook(case.body)
            if case.operation.path == "/api/v1/catalog/inbound" and isinstance(case.body, dict):
                for name, choices in CATALOG_STRINGS.items():
                    _pick(case.body, name, choices)
            # Signed over exactly the bytes sent, as a marketplace does (a negative case may be
            # bytes that are not JSON at all).
            raw = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
            headers = signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=raw)
            response = case.call(headers=headers, data=raw)
        else:
            if isinstance(case.body, dict):
                _pick(case.body, "product_external_id", KNOWN_STRINGS["product_external_id"])
            headers = {"Authorization": f"Bearer {token}"}
            response = case.call(headers=headers)
        if response.status_code < 300:
            accepted[case.operation.label] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    with in_process_requests():
        for operation in operations:
            if operation.label in EXCLUDED:
                continue
            for mode, examples in EXAMPLES.items():
                try:
                    _fuzz(operation, mode, examples, send)
                # Every operation's failures in one report, not only the first operation's.
                except (Exception, BaseExceptionGroup) as failure:
                    failures.append(f"{operation.label} ({mode.value}): {failure}")

    # How much ran, for the log of a CI run (`-s` or a failure shows it).
    print(
        f"api fuzz: {sum(cases.values())} cases over {len(cases)} operations, "
        f"{sum(accepted.values())} accepted (2xx), {len(accepted)} operations reached"
    )
    assert not failures, "\n\n".join(failures)
    assert sum(cases.values()) >= MIN_CASES, cases
    # The fuzzing stayed signed in and reached the webhooks: the cases meant something.
    me = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/shop")
    assert me.status_code == 200
    signed = [o.label for o in operations if o.path in SIGNED]
    assert all(accepted[label] for label in signed), {label: accepted[label] for label in signed}
    assert len(accepted) > len(operations) / 2, accepted
