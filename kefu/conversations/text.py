"""The rules every message text meets before it is stored, and the inbox preview of it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

PREVIEW_CHARS = 160


def clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError("the message is empty", code="empty")
    if len(text) > settings.KEFU_MAX_MESSAGE_CHARS:
        raise ValidationError(
            f"the message is longer than {settings.KEFU_MAX_MESSAGE_CHARS} characters",
            code="too_long",
        )
    return text


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
