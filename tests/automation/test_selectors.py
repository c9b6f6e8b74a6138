"""Shared reads: script suggestions (R-13)."""

import pytest

from kefu.automation import selectors
from kefu.automation.models import Script
from kefu.automation.scripts import ScriptInput, create_script, install_default_scripts

CASES = [
    # (buyer message, language, stage, order state, expected script key)
    (
        "Where is my parcel? The tracking has not updated for a week",
        "en",
        "in_sale",
        None,
        "logistics-inquiry",
    ),
    ("The lamp arrived broken, the glass is cracked", "en", "after_sale", None, "damaged-product"),
    ("Please send my order faster, it's been days", "en", "in_sale", None, "promotion-rush"),
    ("Когда вернутся деньги? Возврат не поступил", "ru", "after_sale", None, "refund-timing"),
    (
        "Мне пришлось заплатить таможенную пошлину!",
        "ru",
        "after_sale",
        None,
        "import-duty-complaint",
    ),
    (
        "Me enviaron el artículo equivocado, no es lo que pedí",
        "es",
        "after_sale",
        None,
        "wrong-item",
    ),
    ("¿Cuánto tarda el envío a Chile?", "es", "pre_sale", None, "delivery-time"),
    ("为什么有好几个运单号？只收到一部分", "zh-hans", "in_sale", None, "split-parcels"),
    ("能便宜点吗？太贵了", "zh-hans", "pre_sale", None, "price-bargain"),
    ("包裹呢", "zh-hans", "in_sale", "available_for_pickup", "post-office-pickup"),
    ("hi?", "en", "in_sale", "split_parcels", "split-parcels"),
]


@pytest.mark.parametrize(("text", "language", "stage", "state", "key"), CASES)
def test_suggestions_pick_the_expected_script(shop, text, language, stage, state, key):
    install_default_scripts(shop=shop)
    got = selectors.suggest_scripts(
        shop=shop, conversation_stage=stage, text=text, language=language, order_state=state
    )
    keys = [Script.objects.get(pk=s.script_id).key for s in got]
    assert keys[0] == key, keys
    top = got[0]
    assert top.language == language
    assert top.reasons
    if state:
        assert top.reason.startswith("order state:")


def test_index_is_rebuilt_after_a_script_change(shop, owner):
    install_default_scripts(shop=shop)
    text = "do you have the unicorn sticker pack"
    before = selectors.suggest_scripts(
        shop=shop, conversation_stage="pre_sale", text=text, language="en"
    )
    assert all(s.title != "Unicorn stickers" for s in before)
    create_script(
        actor=owner,
        data=ScriptInput(
            stage="pre_sale",
            topic="product_questions",
            title="Unicorn stickers",
            variants={"en": "Yes, {buyer_name}, the unicorn sticker pack is in stock."},
            examples="unicorn sticker pack\ndo you sell unicorn stickers",
        ),
    )
    after = selectors.suggest_scripts(
        shop=shop, conversation_stage="pre_sale", text=text, language="en"
    )
    assert after[0].title == "Unicorn stickers"
    assert "unicorn sticker pack" in after[0].reason


def test_suggestions_never_cross_shops(shop, other_shop, owner):
    install_default_scripts(shop=other_shop)
    assert (
        selectors.suggest_scripts(
            shop=shop, conversation_stage="in_sale", text="where is my parcel", language="en"
        )
        == []
    )
