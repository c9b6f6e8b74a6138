"""The shop's metrics settings: reads are pure, the first update creates the row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.metrics import config
from kefu.metrics.models import MetricsCursor, MetricsSettings
from tests.conftest import login_client


def test_reading_the_settings_creates_no_row(shop, owner):
    client = login_client(owner)
    r = client.get("/api/v1/metrics/settings")
    assert r.status_code == 200
    assert r.json() == {"reporting_currency": "USD", "slow_reply_minutes": 30, "rates": {}}
    assert client.get("/metrics/").status_code == 200  # the owner's page shows the form
    assert client.get("/api/v1/metrics?from=2026-03-02&to=2026-03-03").status_code == 200
    assert client.get("/api/v1/metrics/inspection?date=2026-03-02").status_code == 200
    assert not MetricsSettings.objects.exists()


def test_defaults_are_an_unsaved_instance(shop, other_shop):
    ms = config.metrics_settings(shop=shop)
    assert ms.pk is None
    assert (ms.reporting_currency, ms.slow_reply_minutes) == ("USD", 30)
    # A domestic shop reports in its own currency.
    assert config.metrics_settings(shop=other_shop).reporting_currency == "CNY"
    assert not MetricsSettings.objects.exists()


def test_the_first_update_creates_the_row(shop, owner):
    r = login_client(owner).put(
        "/api/v1/metrics/settings",
        data={"slow_reply_minutes": 15},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["slow_reply_minutes"] == 15
    saved = MetricsSettings.objects.get(shop=shop)
    assert (saved.reporting_currency, saved.slow_reply_minutes) == ("USD", 15)
    assert config.metrics_settings(shop=shop).pk == saved.pk


def test_a_refused_update_saves_nothing(shop, owner, pre_agent):
    with pytest.raises(PermissionDenied):
        config.set_reporting(actor=pre_agent, slow_reply_minutes=15)
    with pytest.raises(ValidationError):
        config.set_reporting(actor=owner, slow_reply_minutes=15, rates={"CNY": "x"})
    with pytest.raises(ValidationError):
        config.set_reporting(actor=owner, reporting_currency="dollars")
    assert not MetricsSettings.objects.exists()
    assert not MetricsCursor.objects.exists()


def test_a_rate_change_marks_the_shop_for_a_rebuild(shop, owner):
    config.set_reporting(actor=owner, rates={"cny": Decimal("0.14")})
    assert MetricsCursor.objects.get(shop=shop).needs_rebuild
    rules = config.shop_rules(shop=shop)
    assert rules.rates == {"CNY": Decimal("0.14")}
    assert rules.reporting_currency == "USD"
