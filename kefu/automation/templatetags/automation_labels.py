"""Automation's codes as sellers read them: script topics and automatic-reply kinds."""

from __future__ import annotations

from django import template

from kefu.automation.models import HitKind
from kefu.automation.topics import topic_label as _topic_label

register = template.Library()


@register.filter
def topic_label(topic: str) -> str:
    return _topic_label(topic)


@register.filter
def hit_kind_label(kind: str) -> str:
    return str(HitKind(kind).label) if kind in HitKind.values else kind
