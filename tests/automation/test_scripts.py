"""The script library: the default library, writing scripts and their checks."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.automation import selectors
from kefu.automation.data.default_library import SCRIPTS
from kefu.automation.models import Script, ScriptVariant
from kefu.automation.scripts import (
    ScriptInput,
    create_script,
    install_default_scripts,
    update_script,
)
from tests.conftest import login_client

from .conftest import FULL


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
    r46_r47 = {"product_facts", "payment_failed", "payment_methods"}
    assert r10 | r12 | r46_r47 <= topics


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


def test_a_retired_script_is_no_longer_suggested_or_listed_until_restored(shop, owner):
    install_default_scripts(shop=shop)
    text = "do you have the unicorn sticker pack"
    script = create_script(
        actor=owner,
        data=ScriptInput(
            stage="pre_sale",
            topic="product_questions",
            title="Unicorn stickers",
            variants={"en": "Yes, {buyer_name}, the unicorn sticker pack is in stock."},
            examples="unicorn sticker pack\ndo you sell unicorn stickers",
        ),
    )
    client = login_client(owner)

    assert (
        client.post(f"/automation/scripts/{script.pk}/active", {"active": "0"}).status_code == 302
    )
    suggested = selectors.suggest_scripts(
        shop=shop, conversation_stage="pre_sale", text=text, language="en"
    )
    assert all(s.title != "Unicorn stickers" for s in suggested)
    assert "Unicorn stickers" not in client.get("/automation/scripts/").content.decode()
    assert "Unicorn stickers" in client.get("/automation/scripts/?retired=1").content.decode()

    response = client.put(
        f"/api/v1/automation/scripts/{script.pk}/active",
        {"active": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is True
    suggested = selectors.suggest_scripts(
        shop=shop, conversation_stage="pre_sale", text=text, language="en"
    )
    assert suggested[0].title == "Unicorn stickers"


def test_an_agent_without_the_grant_cannot_retire_a_script(shop, owner, pre_agent):
    script = create_script(
        actor=owner,
        data=ScriptInput(
            stage="pre_sale",
            topic="product_questions",
            title="Sizes",
            variants={"en": "Our sizes run small."},
            examples="what size",
        ),
    )
    response = login_client(pre_agent).put(
        f"/api/v1/automation/scripts/{script.pk}/active",
        {"active": False},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Script.objects.get(pk=script.pk).is_active
