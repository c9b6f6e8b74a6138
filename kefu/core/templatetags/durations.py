"""`{{ seconds|duration }}`: a time in seconds as a seller reads it ("2 h 5 min", "2小时5分钟")."""

from __future__ import annotations

from django import template

from kefu.core.durations import format_duration

register = template.Library()


@register.filter
def duration(seconds: float | int | None) -> str:
    return format_duration(seconds)
