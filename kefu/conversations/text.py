"""The rules every message text meets before it is stored, and the inbox preview of it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PREVIEW_CHARS = 160


def clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("the message is empty"), code="empty")
    if len(text) > settings.KEFU_MAX_MESSAGE_CHARS:
        raise ValidationError(
            _("the message is longer than %(limit)s characters")
            % {"limit": settings.KEFU_MAX_MESSAGE_CHARS},
            code="too_long",
        )
    return text


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"
