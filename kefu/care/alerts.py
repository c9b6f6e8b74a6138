"""Writes of the workbench's care alerts: taking one off once it has been seen to."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from kefu.accounts.models import User
from kefu.care.models import CareAlert


def dismiss_alert(*, actor: User, alert: CareAlert) -> CareAlert:
    """Take an alert off the workbench. ``alert`` comes from `access_alert`."""
    if actor.shop_id is None or alert.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's alert")
    if alert.dismissed_at is None:
        alert.dismissed_at = timezone.now()
        alert.save(update_fields=["dismissed_at"])
    return alert
