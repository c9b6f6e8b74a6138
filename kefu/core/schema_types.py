"""Value types the API's schemas share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, BaseModel, WithJsonSchema
from pydantic import Field as PydanticField


def _wall_clock(value: dt.time) -> dt.time:
    # Opening hours and quiet hours are read on the shop's own clock (its time zone setting);
    # an offset would mean a different zone per field.
    if value.tzinfo is not None:
        raise ValueError("give the time without an offset: it is read in the shop's time zone")
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    # An offset the databases refuse (PostgreSQL stops at ±15:59; "-23:09" is valid ISO 8601)
    # or an instant beyond year 1..9999 once in UTC was a 500. Stored in UTC anyway.
    if value.tzinfo is None:
        return value  # the caller says why it needs an offset
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("time out of range") from exc


# A time stamp from outside, kept as the instant it names (in UTC); naive ones pass through
# for the endpoint to refuse.
Instant = Annotated[dt.datetime, AfterValidator(_utc)]


# JSON Schema's "time" format is RFC 3339's, which requires an offset: a wall-clock time is
# described by its pattern instead, so a client validating our answers accepts "22:00:00".
LocalTime = Annotated[
    dt.time,
    AfterValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "description": "a time of day on the shop's clock, without an offset: 22:00:00",
        }
    ),
]


class FieldErrorOut(Schema):
    field: str = PydanticField(description="the field, dotted for nested ones: `buyer.external_id`")
    message: str


class ErrorOut(Schema):
    """Every refusal the API answers (4xx), whatever the operation: `detail` says why in one
    sentence; a 400 for invalid input also names each wrong field in `errors`."""

    detail: str
    errors: list[FieldErrorOut] | None = None


def field_errors(errors: Iterable[Mapping[str, Any]], *, skip: int = 0) -> list[dict[str, str]]:
    """Pydantic's errors as `FieldErrorOut`s; `skip` drops the leading parts of each location
    that name where the value came from rather than the field."""
    out = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())][skip:]
        out.append({"field": ".".join(loc) or "body", "message": str(error.get("msg", ""))})
    return out


def inline_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written out in place.

    For a request body documented by hand (`openapi_extra`): pydantic's `#/$defs/...` refer
    to the document's root there, where there are none, so clients cannot resolve them.
    """
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**resolve(defs[ref.removeprefix("#/$defs/")]), **resolve(rest)}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
