"""The signed-webhook check as a django-ninja auth class, shared by every marketplace webhook."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader
from pydantic import BaseModel

from kefu.accounts.apps import SHOPS_STAMP
from kefu.accounts.models import Shop
from kefu.core.controls import loads_clean
from kefu.core.ratelimit import Count, Limit, RateLimited, hit_all
from kefu.core.schema_types import inline_json_schema
from kefu.integrations import shop_cache
from kefu.integrations.signing import (
    PREFIX,
    SHOP_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    StaleSignature,
    as_datetime,
    signature_matches,
    signing_time,
)


class SignedWebhook(APIKeyHeader):
    """`X-Kefu-Shop` names the shop, `X-Kefu-Timestamp` is the signing time in unix seconds and
    `X-Kefu-Signature: sha256=<hex>` signs `"<timestamp>.<raw body>"` with the shop's webhook
    secret. The authenticated "user" is the shop.

    Every signed webhook counts against the shop's own `intake_per_minute`; over it, 429 with
    `Retry-After` (kefu.api). Counted after the signature, so nobody else spends a shop's
    allowance, and before the body is parsed or stored."""

    param_name = SIGNATURE_HEADER

    def __init__(self, *, per_buyer: bool = False, batch: bool = False) -> None:
        super().__init__()
        # Buyer messages also count against the buyer's own limit, so one buyer (or a loop in
        # a connector) cannot use up the shop's allowance.
        self.per_buyer = per_buyer
        # The batch message webhook carries up to 500 messages: a larger body.
        self.batch = batch

    def authenticate(self, request: HttpRequest, key: str | None) -> Shop:
        body = ParsedBody(request.body)
        shop, timestamp = verified_shop(
            request.body,
            signature=key,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            slug=request.headers.get(SHOP_HEADER),
            per_buyer=self.per_buyer,
            batch=self.batch,
            parsed=body,
        )
        request.kefu_signed_at = as_datetime(timestamp)  # type: ignore[attr-defined]
        # The per-buyer limit may have parsed the body: the view reads that parse.
        request.kefu_body = body  # type: ignore[attr-defined]
        return shop


def verified_shop(
    body: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    slug: str | None,
    per_buyer: bool,
    batch: bool = False,
    parsed: ParsedBody | None = None,
) -> tuple[Shop, int]:
    """The shop that signed `body` and the signing time (unix seconds), counted against its
    limits; `HttpError` 401/413 or `RateLimited` otherwise. The check of `SignedWebhook`,
    callable without a Django request (the lean intake app, ``kefu.intake_wsgi``). `parsed`
    (of `body`) keeps the per-buyer limit's parse for the caller."""
    # Refuse an oversized body before hashing it, as the webhooks always have.
    most = settings.KEFU_INTAKE_BATCH_MAX_BYTES if batch else settings.KEFU_MAX_INBOUND_BODY_BYTES
    if len(body) > most:
        raise HttpError(413, f"body larger than {most} bytes")
    try:
        signed_at = signing_time(timestamp)
    except StaleSignature as exc:
        raise HttpError(401, str(exc)) from exc
    if not slug or not signature or not signature.startswith(PREFIX):
        raise HttpError(401, "unknown shop or bad signature")
    if parsed is None:
        parsed = ParsedBody(body)
    return _signing_shop(slug, signature, signed_at, parsed, per_buyer=per_buyer), signed_at


def _signing_shop(
    slug: str, signature: str, timestamp: int, parsed: ParsedBody, *, per_buyer: bool
) -> Shop:
    """The shop whose secret signs the request, counted against its limits (and the buyer's);
    401 or 429 otherwise.

    The shop comes from the process's copy (``shop_cache``) when there is one. A signature
    that does not match a copy is checked again against the shop read now (the seller may have
    rotated the secret), and the counting call refuses to count under a copy whose stamp has
    moved: the shop is read again and the signature checked again before anything counts."""
    body = parsed.raw
    copy = shop_cache.cached(slug)
    fresh = copy is None
    if copy is None:
        copy = shop_cache.read(slug)
    for attempt in range(3):
        secret = copy.secret if copy is not None else None
        if not signature_matches(
            secret=secret, signature=signature, timestamp=timestamp, body=body
        ):
            if fresh:
                # An unknown shop and a wrong signature look the same to the caller.
                raise HttpError(401, "unknown shop or bad signature")
            copy, fresh = shop_cache.read(slug), True
            continue
        assert copy is not None  # noqa: S101 - a matching signature needs a secret
        buyer = _buyer_of(parsed) if per_buyer else None
        shop = copy.shop()
        counts = [Count("intake", str(shop.pk), Limit(shop.intake_per_minute, 60))]
        if buyer is not None:
            limit = Limit(shop.intake_per_buyer_per_minute, 60)
            counts.append(Count("intake-buyer", f"{shop.pk}:{buyer}", limit))
        # The last try counts without the fence: two changes of shops in a row are no reason
        # to refuse a request whose signature matched the shop as read just now.
        fence = (SHOPS_STAMP, copy.stamp) if attempt < 2 else None
        counted = hit_all(counts, fence=fence)
        if counted.fenced:
            copy, fresh = shop_cache.read(slug, stamp=counted.stamp), True
            continue
        if counted.over == 0:
            raise RateLimited(
                counted.wait or 1,
                f"more than {shop.intake_per_minute} webhook requests a minute for this shop; "
                f"retry after {counted.wait} seconds (the shop owner sets this limit)",
            )
        if counted.over == 1:
            assert buyer is not None  # noqa: S101 - the second count is the buyer's
            raise RateLimited(
                counted.wait or 1,
                f"more than {shop.intake_per_buyer_per_minute} messages a minute about buyer "
                f"{buyer[:120]!r}; retry after {counted.wait} seconds "
                "(the shop owner sets this limit)",
            )
        return shop
    raise HttpError(401, "unknown shop or bad signature")  # pragma: no cover - see the loop


class ParsedBody:
    """A webhook's raw body and its ``loads_clean`` parse, made at most once: the per-buyer
    limit reads the buyer from it before the handler reads the message. The caller makes one
    per request and hands it to both (decisions §89; it was a thread's last parse, §78).
    Callers only read the data; a body that is not JSON raises as ``loads_clean`` does, every
    time it is asked."""

    __slots__ = ("_data", "_parsed", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._parsed = False
        self._data: Any = None

    def data(self) -> Any:
        if not self._parsed:
            self._data = loads_clean(self.raw)
            self._parsed = True
        return self._data


def _buyer_of(parsed: ParsedBody) -> str | None:
    """The buyer's external id in a message webhook; None for a body the operation refuses."""
    try:
        data = parsed.data()
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    buyer = data.get("buyer") if isinstance(data, dict) else None
    external_id = buyer.get("external_id") if isinstance(buyer, dict) else None
    return external_id if isinstance(external_id, str) and external_id else None


class RateLimitedProblem(Schema):
    """429: the shop's limit (or the buyer's) is reached; the `Retry-After` header and
    `retry_after` say how many seconds to wait. A retry after that is stored once."""

    detail: str
    retry_after: int


def with_retry_after(openapi_extra: dict[str, Any]) -> dict[str, Any]:
    """An operation's `openapi_extra` that also documents the 429's `Retry-After` header."""
    header = {
        "description": "Seconds to wait before sending again",
        "schema": {"type": "integer", "minimum": 1},
    }
    return {**openapi_extra, "responses": {429: {"headers": {"Retry-After": header}}}}


def signed_json_body(schema: type[BaseModel]) -> dict[str, Any]:
    """A signed webhook's `openapi_extra`: its JSON body inlined (the signature covers the raw
    body, so the handler reads it itself) and the 429's `Retry-After` header."""
    content = {"application/json": {"schema": inline_json_schema(schema)}}
    return with_retry_after({"requestBody": {"required": True, "content": content}})


signed_webhook = SignedWebhook()
signed_buyer_message = SignedWebhook(per_buyer=True)
signed_batch = SignedWebhook(batch=True)


def webhook_shop(request: HttpRequest) -> Shop:
    """The shop whose signature `signed_webhook` verified for this request."""
    shop = request.auth  # type: ignore[attr-defined]
    assert isinstance(shop, Shop)  # noqa: S101 - the auth class guarantees it
    return shop


def webhook_body(request: HttpRequest) -> ParsedBody:
    """The body `signed_webhook` verified for this request, with its parse if one was made."""
    body = getattr(request, "kefu_body", None)
    return body if isinstance(body, ParsedBody) else ParsedBody(request.body)


def webhook_signed_at(request: HttpRequest) -> dt.datetime:
    """When the sender signed the request `signed_webhook` verified."""
    signed_at = request.kefu_signed_at  # type: ignore[attr-defined]
    assert isinstance(signed_at, dt.datetime)  # noqa: S101 - the auth class sets it
    return signed_at
