"""Delivery adapters: how an outbound message reaches the buyer's channel.

Adapters only move bytes: the outbox (``kefu.conversations.outbound``) decides what is sent,
when, and what a failure means for the conversation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from kefu.accounts.models import Shop
from kefu.integrations.channels import Channel
from kefu.integrations.signing import signed_headers


@dataclass(frozen=True)
class Outbound:
    """One message on its way to a buyer, as the channel receives it."""

    shop: Shop
    channel: str
    message_id: int
    conversation_id: int
    buyer_external_id: str
    kind: str
    text: str
    payload: dict[str, Any]
    sent_at: datetime


@dataclass(frozen=True)
class DeliveryResult:
    """``ok`` only when the channel took the message. A final failure (``retry`` False) says
    why in ``reason``: "no_callback_url" (nowhere to send it) or "refused" (the channel said no).
    """

    ok: bool
    retry: bool = False
    error: str = ""
    reason: str = ""


class DeliveryAdapter(Protocol):
    def deliver(self, outbound: Outbound) -> DeliveryResult: ...

    def deliver_many(self, outbounds: list[Outbound]) -> list[DeliveryResult]:
        """One result per message, in order (the outbox delivers in batches)."""
        ...


class WidgetAdapter:
    """The widget reads from Kefu itself: a committed message is delivered."""

    def deliver(self, outbound: Outbound) -> DeliveryResult:
        return DeliveryResult(ok=True)

    def deliver_many(self, outbounds: list[Outbound]) -> list[DeliveryResult]:
        return [DeliveryResult(ok=True) for _ in outbounds]


class CallbackAdapter:
    """POST the reply to the shop's callback URL, signed like inbound webhooks.

    A 4xx answer is final (the marketplace refused it); 5xx and network errors are retried.
    """

    timeout = 10.0
    transport: httpx.BaseTransport | None = None  # tests plug a mock transport in here

    def deliver(self, outbound: Outbound) -> DeliveryResult:
        return self.deliver_many([outbound])[0]

    def deliver_many(self, outbounds: list[Outbound]) -> list[DeliveryResult]:
        """The marketplace callback takes one message per request, so a batch is one POST
        each — over one client, whose kept-alive connection spares a TLS handshake per
        message. An unexpected error fails its message only (retried), not the batch."""
        with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
            results = []
            for outbound in outbounds:
                try:
                    results.append(self._post(client, outbound))
                except Exception as exc:  # a bad payload must not cost the others their send
                    results.append(
                        DeliveryResult(ok=False, retry=True, error=f"{type(exc).__name__}: {exc}")
                    )
            return results

    def _post(self, client: httpx.Client, outbound: Outbound) -> DeliveryResult:
        shop = outbound.shop
        if not shop.callback_url:
            # Not connected to the marketplace: the buyer cannot see this message.
            return DeliveryResult(
                ok=False, error="the shop has no callback URL", reason="no_callback_url"
            )
        body = json.dumps(
            {
                "message_id": outbound.message_id,
                "conversation_id": outbound.conversation_id,
                "buyer_external_id": outbound.buyer_external_id,
                "kind": outbound.kind,
                "text": outbound.text,
                "payload": outbound.payload,
                "sent_at": outbound.sent_at.isoformat(),
            },
            ensure_ascii=False,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            **signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
            "Idempotency-Key": f"kefu-message-{outbound.message_id}",
        }
        try:
            response = client.post(shop.callback_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryResult(ok=False, retry=True, error=f"{type(exc).__name__}: {exc}")
        if response.status_code < 300:
            return DeliveryResult(ok=True)
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        retry = response.status_code >= 500 or response.status_code == 429
        return DeliveryResult(ok=False, retry=retry, error=error, reason="" if retry else "refused")


def adapter_for(channel: str) -> DeliveryAdapter:
    if channel == Channel.WIDGET:
        return WidgetAdapter()
    return CallbackAdapter()
