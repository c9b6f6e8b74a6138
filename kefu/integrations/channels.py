"""The channels a conversation can come through: the vocabulary adapters are chosen by."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    MARKETPLACE = "marketplace", _("Marketplace chat")
    WIDGET = "widget", _("Site widget")
    EMAIL = "email", _("E-mail")
    SOCIAL = "social", _("Social")
