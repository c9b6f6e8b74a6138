"""Parsing of the order settings page: typed values for `config.update_order_settings`.

The form only turns text into values; the service decides what is allowed, so the page and
the API refuse the same things with the same words.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

from kefu.orders.models import OrderSettings, ShipByPolicy


def tracking_templates_text(templates: dict[str, str]) -> str:
    return "\n".join(f"{carrier} = {link}" for carrier, link in templates.items())


def parse_tracking_templates(text: str) -> dict[str, str]:
    """One carrier per line, `Carrier = https://…{number}`; `*` is the link for any other."""
    parsed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        carrier, sep, link = line.partition("=")
        if not sep or not carrier.strip() or not link.strip():
            raise ValidationError(
                gettext("Line %(line)s: write it as Carrier = https://…{number}.")
                % {"line": number}
            )
        if carrier.strip() in parsed:
            raise ValidationError(
                gettext("Line %(line)s: %(carrier)s is listed twice.")
                % {"line": number, "carrier": carrier.strip()}
            )
        parsed[carrier.strip()] = link.strip()
    return parsed


class OrderSettingsForm(forms.Form):
    payment_reminder_enabled = forms.BooleanField(
        required=False, label=gettext_lazy("Send payment reminders")
    )
    payment_reminder_delay_minutes = forms.IntegerField(
        label=gettext_lazy("Remind this many minutes after the order is placed")
    )
    payment_reminder_max_age_hours = forms.IntegerField(
        label=gettext_lazy("Do not remind orders older than (hours)")
    )
    quiet_start = forms.TimeField(label=gettext_lazy("Quiet hours from"))
    quiet_end = forms.TimeField(label=gettext_lazy("Quiet hours until"))
    ship_by_hours = forms.TypedChoiceField(
        choices=ShipByPolicy.choices, coerce=int, label=gettext_lazy("Shipping promise")
    )
    refund_days = forms.CharField(
        max_length=20,
        label=gettext_lazy("A refund reaches the buyer within (business days)"),
    )
    risk_window_hours = forms.IntegerField(
        label=gettext_lazy("Show on the risk board this many hours before the deadline")
    )
    penalty_percent = forms.DecimalField(
        max_digits=6,
        decimal_places=2,
        label=gettext_lazy("Late-shipment penalty (percent of the amount)"),
    )
    penalty_cap = forms.DecimalField(
        required=False,
        max_digits=14,
        decimal_places=2,
        label=gettext_lazy("Penalty cap (empty: no cap)"),
    )
    penalty_cap_currency = forms.CharField(
        max_length=3, min_length=3, label=gettext_lazy("Cap currency")
    )
    stall_days = forms.IntegerField(
        label=gettext_lazy("A parcel is stalled after this many days without news")
    )
    tracking_links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        label=gettext_lazy("Tracking links per carrier"),
    )

    @classmethod
    def for_settings(cls, current: OrderSettings) -> OrderSettingsForm:
        return cls(
            initial={
                "payment_reminder_enabled": current.payment_reminder_enabled,
                "payment_reminder_delay_minutes": current.payment_reminder_delay_minutes,
                "payment_reminder_max_age_hours": current.payment_reminder_max_age_hours,
                "quiet_start": current.quiet_start.strftime("%H:%M"),
                "quiet_end": current.quiet_end.strftime("%H:%M"),
                "ship_by_hours": current.ship_by_hours,
                "refund_days": current.refund_days,
                "risk_window_hours": current.risk_window_hours,
                "penalty_percent": (current.penalty_rate * 100).normalize(),
                "penalty_cap": current.penalty_cap,
                "penalty_cap_currency": current.penalty_cap_currency,
                "stall_days": current.stall_days,
                "tracking_links": tracking_templates_text(current.tracking_url_templates),
            }
        )

    def clean_tracking_links(self) -> dict[str, str]:
        return parse_tracking_templates(self.cleaned_data.get("tracking_links", ""))

    def setting_values(self) -> dict[str, Any]:
        """The cleaned form as `update_order_settings` keyword arguments."""
        data = dict(self.cleaned_data)
        data["penalty_rate"] = (Decimal(data.pop("penalty_percent")) / 100).quantize(
            Decimal("0.0001")
        )
        data["tracking_url_templates"] = data.pop("tracking_links")
        return data
