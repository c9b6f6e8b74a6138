"""Issue 10: the API's schema (`/api/v1/openapi.json`) says what the API does — what client
generators and the fuzz test (test_api_fuzz.py) build on."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.test import Client

from kefu.api import api
from kefu.metrics.api import FiguresOut
from kefu.metrics.compute import METRIC_NAMES
from tests.conftest import login_client
from tests.helpers import buyer_says, online


def _schema() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(schema: dict[str, Any], ref: str) -> Any:
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_reference_resolves(db):
    """The inbound webhooks' bodies pointed at `#/$defs/...`, which is not in the document."""
    schema = _schema()
    refs = _refs(schema)

    assert refs
    assert all(ref.startswith("#/components/schemas/") for ref in refs), sorted(set(refs))
    for ref in refs:
        _resolve(schema, ref)
    webhook = schema["paths"]["/api/v1/inbound/messages"]["post"]
    assert [p["name"] for p in webhook["parameters"] if p["in"] == "header"] == [
        "X-Kefu-Shop",
        "X-Kefu-Timestamp",
    ]
    body = webhook["requestBody"]
    buyer = body["content"]["application/json"]["schema"]["properties"]["buyer"]
    assert "external_id" in buyer["properties"]


def test_one_name_is_one_model():
    """Two response models called `SuggestionOut` became one component, so the conversation's
    suggestions were described with the automation API's fields."""
    shapes: dict[tuple[str, str], set[str]] = defaultdict(set)
    # The operations as mounted (ninja keeps them there); each model's schema as ninja makes it.
    for router in api._get_bound_routers():
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                models = [*operation.models, *operation.response_models.values()]
                for model in models:
                    if not hasattr(model, "model_json_schema"):
                        continue
                    for mode in ("validation", "serialization"):
                        generated = model.model_json_schema(mode=mode)
                        for name, definition in generated.get("$defs", {}).items():
                            shapes[mode, name].add(json.dumps(definition, sort_keys=True))

    clashes = {name for (_, name), seen in shapes.items() if len(seen) > 1}
    # Ninja's own wrappers of parameters and answers are flattened away, never components.
    assert clashes - {"NinjaResponseSchema", "QueryParams", "BodyParams", "PathParams"} == set()


def test_the_conversation_suggestions_answer_what_their_schema_says(shop, owner, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop, "Where is my parcel?", entry_point="order_detail").conversation
    client = login_client(owner)
    client.post(
        "/api/v1/automation/scripts",
        data=json.dumps(
            {
                "stage": "after_sale",
                "topic": "tracking",
                "title": "Parcel on its way",
                "examples": "where is my parcel",
                "variants": {"en": "Your parcel is on its way, {buyer_name}."},
            }
        ),
        content_type="application/json",
    )

    offers = client.get(f"/api/v1/conversations/{conv.pk}/suggestions").json()
    described = _resolve(
        _schema(),
        _schema()["paths"]["/api/v1/conversations/{conversation_id}/suggestions"]["get"][
            "responses"
        ]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
    )

    assert offers
    assert set(offers[0]) == set(described["properties"]) == set(described["required"])
    assert "gaps" in offers[0]


def test_refusals_are_documented_in_one_shape(db):
    schema = _schema()
    reply = schema["paths"]["/api/v1/conversations/{conversation_id}/replies"]["post"]
    error = {"$ref": "#/components/schemas/ErrorOut"}

    assert set(reply["responses"]) == {"201", "400", "401", "403", "404", "409", "422"}
    for status in ("400", "401", "403", "404"):
        assert reply["responses"][status]["content"]["application/json"]["schema"] == error
    assert set(schema["components"]["schemas"]["ErrorOut"]["properties"]) == {"detail", "errors"}
    # A read with no input and no object in its path can only be unauthenticated.
    shop = schema["paths"]["/api/v1/shop"]["get"]
    assert set(shop["responses"]) == {"200", "401"}


def test_invalid_input_names_the_fields_like_the_webhooks_do(shop, owner):
    response = login_client(owner).post(
        "/api/v1/orders/incidents",
        data=json.dumps({"title": "", "statuses": ["lost"]}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "invalid input",
        "errors": [
            {"field": "title", "message": "String should have at least 1 character"},
            {"field": "text", "message": "Field required"},
            {
                "field": "statuses.0",
                "message": response.json()["errors"][2]["message"],
            },
        ],
    }


def test_an_address_no_api_route_takes_answers_in_the_error_shape(shop, owner):
    response = login_client(owner).get("/api/v1/orders/not-a-number")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert login_client(owner).get("/orders/not-a-number/").status_code == 404  # a page


def test_the_metrics_report_is_described_field_by_field(shop, owner):
    schema = _schema()
    report = schema["paths"]["/api/v1/metrics"]["get"]["responses"]["200"]
    described = _resolve(schema, report["content"]["application/json"]["schema"]["$ref"])
    answer = login_client(owner).get("/api/v1/metrics").json()

    assert set(FiguresOut.model_fields) == set(METRIC_NAMES)
    assert set(answer) == set(described["properties"])
    assert "from" in answer
    assert set(answer["total"]) == set(METRIC_NAMES)


def test_wall_clock_times_are_described_without_the_offset_rfc_3339_requires(shop, owner):
    schema = _schema()
    settings_out = schema["components"]["schemas"]["OrderSettingsOut"]
    answer = login_client(owner).get("/api/v1/orders/settings").json()

    assert "format" not in settings_out["properties"]["quiet_start"]
    assert answer["quiet_start"] == "22:00:00"
