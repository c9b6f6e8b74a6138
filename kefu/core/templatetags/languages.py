"""A language code as a seller reads it: "zh-hans" is 简体中文 / Simplified Chinese."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language_info

register = template.Library()


@register.filter
def language_label(code: str | None) -> str:
    """The language's name in the page's language; the code itself when Django does not
    know it (a marketplace may report one), and a dash for none."""
    if not code:
        return "—"
    try:
        return str(get_language_info(code.lower())["name_translated"])
    except KeyError:
        return code
