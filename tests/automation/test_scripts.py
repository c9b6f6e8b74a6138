import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.automation import selectors
from kefu.automation.data.default_library import SCRIPTS
from kefu.automation.models import AutomationHit, Script, ScriptVariant
from kefu.automation.placeholders import PLACEHOLDERS, PlaceholderContext, render
from kefu.automation.services import (
    ScriptInput,
    create_quick_reply,
    create_script,
    install_default_scripts,
    note_complaint,
    note_order_placed,
    record_script_use,
    update_script,
)

from .conftest import T0, make_buyer, make_conversation

FULL = PlaceholderContext(
    buyer_name="Anna",
    agent_name="Lily",
    order_id="8100234",
    tracking_numbers=("LP001", "LP002"),
    carrier="Cainiao",
    arrival_date=dt.date(2026, 3, 14),
    tracking_url="https://t.example/LP001",
    refund_days="3-20",
    order_month=dt.date(2026, 2, 10),
    product="Desk lamp",
)


def test_render_fills_every_placeholder():
    body = " ".join("{" + name + "}" for name in PLACEHOLDERS)
    out = render(body, FULL, "en")
    assert out.text == (
        "Anna Lily 8100234 LP001, LP002 Cainiao March 14, 2026 "
        "https://t.example/LP001 3-20 February 2026 Desk lamp"
    )
    assert not out.has_gaps


def test_dates_and_lists_follow_the_language():
    assert (
        render("{arrival_date}|{order_month}|{tracking_numbers}", FULL, "zh-hans").text
        == "2026年3月14日|2026年2月|LP001、LP002"
    )
    assert render("{arrival_date}|{order_month}", FULL, "ru").text == "14.03.2026|феврале 2026"
    assert render("{order_month}", FULL, "es").text == "febrero de 2026"


def test_missing_values_become_visible_gaps_never_braces():
    out = render(
        "Hi {buyer_name}, order {order_id} via {carrier}.",
        PlaceholderContext(buyer_name="Anna"),
        "en",
    )
    assert out.text == "Hi Anna, order [order id?] via [carrier?]."
    assert [g.name for g in out.gaps] == ["order_id", "carrier"]
    assert out.has_gaps
    assert "{" not in out.text
    assert "}" not in out.text
    assert render("订单{order_id}", PlaceholderContext(), "zh-hans").text == "订单[订单号?]"
    assert (
        render("{tracking_numbers}", PlaceholderContext(tracking_numbers=("", " ")), "ru").text
        == "[трек-номер?]"
    )


def test_unknown_placeholders_and_stray_braces_never_reach_the_buyer():
    out = render("Hello {nickname} {", PlaceholderContext(), "en")
    assert out.text == "Hello [nickname?] "
    assert out.has_gaps
    value_with_braces = render("{product}", PlaceholderContext(product="Lamp {v2}"), "en")
    assert value_with_braces.text == "Lamp (v2)"


def test_default_library_covers_every_language_and_scenario(shop):
    added = install_default_scripts(shop=shop)
    assert added == len(SCRIPTS) >= 27
    assert install_default_scripts(shop=shop) == 0  # idempotent
    for script in Script.objects.filter(shop=shop):
        assert sorted(script.variants.values_list("language", flat=True)) == [
            "en",
            "es",
            "ru",
            "zh-hans",
        ]
    topics = set(Script.objects.filter(shop=shop).values_list("topic", flat=True))
    r10 = {
        "product_questions",
        "shipping_channels",
        "delivery_time",
        "import_duties",
        "low_declaration",
        "price",
        "gifts",
        "out_of_stock",
        "failed_to_ship_on_time",
        "logistics_inquiry",
        "customs_clearance",
        "promised_delivery_time",
        "failed_delivery",
        "how_to_use",
        "product_defects",
        "not_as_expected",
        "duty_paid_afterwards",
        "short_shipment",
        "wrong_item",
    }
    r12 = {
        "urging_shipment",
        "post_office_pickup",
        "split_parcels",
        "damaged_product",
        "refund_timing",
        "payment_reminder",
        "holding_reply",
        "review_request",
    }
    assert r10 | r12 <= topics


def test_every_default_script_renders_without_gaps_when_the_order_is_known(shop):
    install_default_scripts(shop=shop)
    for variant in ScriptVariant.objects.filter(shop=shop):
        out = selectors.render_script(variant, FULL)
        assert not out.has_gaps, (variant.script.key, variant.language, out.gaps)
        assert "{" not in out.text


def test_split_parcel_script_lists_every_tracking_number(shop):
    install_default_scripts(shop=shop)
    variant = ScriptVariant.objects.get(script__key="split-parcels", language="es")
    text = selectors.render_script(variant, FULL).text
    assert "LP001, LP002" in text
    assert "8100234" in text


def test_create_script_checks_placeholders(owner):
    bad = ScriptInput(stage="pre_sale", topic="price", title="x", variants={"en": "Hi {nick}"})
    with pytest.raises(ValidationError, match="unknown placeholder"):
        create_script(actor=owner, data=bad)
    ok = ScriptInput(
        stage="pre_sale",
        topic="Price",
        title="Bundle offer",
        variants={"en": "Hi {buyer_name}", "ru": "Привет, {buyer_name}"},
        examples="two for one",
    )
    script = create_script(actor=owner, data=ok)
    assert script.topic == "price"
    assert script.variants.count() == 2


def test_agent_needs_the_grant_to_edit_scripts(pre_agent, owner):
    data = ScriptInput(stage="pre_sale", topic="price", title="t", variants={"en": "x"})
    with pytest.raises(PermissionDenied):
        create_script(actor=pre_agent, data=data)
    pre_agent.can_manage_settings = True
    pre_agent.save()
    script = create_script(actor=pre_agent, data=data)
    data.variants = {"es": "hola"}
    update_script(actor=pre_agent, script=script, data=data)
    assert list(script.variants.values_list("language", flat=True)) == ["es"]


def test_quick_replies_are_personal(pre_agent, after_agent):
    mine = create_quick_reply(actor=pre_agent, title="thanks", body="Thank you, {buyer_name}!")
    assert list(selectors.quick_replies_of(pre_agent)) == [mine]
    assert list(selectors.quick_replies_of(after_agent)) == []


def test_script_use_and_what_followed(shop, pre_agent):
    install_default_scripts(shop=shop)
    buyer = make_buyer(shop)
    conv = make_conversation(shop, buyer)
    script = Script.objects.get(shop=shop, key="payment-reminder")
    hit = record_script_use(
        agent=pre_agent, conversation=conv, script=script, language="en", suggested=True
    )
    assert hit.kind == "script"
    note_order_placed(shop=shop, buyer=buyer, placed_at=hit.created_at + dt.timedelta(hours=47))
    note_complaint(shop=shop, conversation=conv, at=hit.created_at + dt.timedelta(hours=49))
    hit.refresh_from_db()
    assert hit.ordered_at is not None
    assert hit.complained_at is None  # outside the 48 h window
    report = selectors.automation_report(shop=shop, since=T0 - dt.timedelta(days=365))
    row = report["scripts"][0]
    assert (row.label, row.count, row.ordered, row.order_rate) == (
        "Payment reminder (催付)",
        1,
        1,
        1.0,
    )


def test_script_use_across_shops_is_refused(shop, other_shop, rival, pre_agent):
    install_default_scripts(shop=shop)
    conv = make_conversation(other_shop, make_buyer(other_shop))
    script = Script.objects.filter(shop=shop).first()
    with pytest.raises(ValidationError):
        record_script_use(agent=pre_agent, conversation=conv, script=script, language="en")
    assert not AutomationHit.objects.exists()


def _run_cli(argv):
    import argparse

    from django.core.management.base import CommandError

    from kefu.automation.cli import register

    parser = argparse.ArgumentParser(prog="kefu")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandError:
        return 2


def test_cli_installs_and_suggests(shop, capsys):
    assert _run_cli(["scripts", "install", "--shop", shop.slug]) == 0
    assert capsys.readouterr().out.strip() == f"added {len(SCRIPTS)} scripts"
    argv = [
        "scripts",
        "suggest",
        "--shop",
        shop.slug,
        "--language",
        "zh-hans",
        "--order-state",
        "available_for_pickup",
        "包裹呢",
    ]
    assert _run_cli(argv) == 0
    assert "Parcel waiting at the local post office" in capsys.readouterr().out.splitlines()[0]
    assert _run_cli(["scripts", "install", "--shop", "nope"]) == 2


def test_demo_loader_sets_up_automation(shop, owner):
    import random

    from kefu.automation.demo import load
    from kefu.automation.models import AutomationSettings, BusinessHours, KeywordRule

    load(shop=shop, rng=random.Random(1))
    assert Script.objects.filter(shop=shop).count() == len(SCRIPTS)
    assert AutomationSettings.objects.get(shop=shop).welcome_enabled
    assert BusinessHours.objects.filter(shop=shop).count() == 5
    assert KeywordRule.objects.filter(shop=shop, version=1, is_active=True).count() == 5
