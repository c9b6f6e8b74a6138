"""A buyer's language: detected from messages, fixed by an agent (R-11)."""

import pytest
from django.core.exceptions import ValidationError

from kefu.automation.buyer_language import set_buyer_language
from kefu.automation.models import BuyerAutomationState
from kefu.automation.selectors import buyer_language
from kefu.conversations.models import Buyer
from tests.helpers import buyer_says

from .conftest import make_buyer


def _writes(shop, text: str) -> str:
    """The buyer writes through intake, as a marketplace chat would; their language after."""
    buyer_says(shop, text, buyer="b-lang", name="Anna")
    return buyer_language(Buyer.objects.get(shop=shop, external_id="b-lang"))


def test_agent_override_wins_over_detection(shop, owner):
    assert _writes(shop, "Где моя посылка?") == "ru"
    buyer = Buyer.objects.get(shop=shop, external_id="b-lang")
    assert set_buyer_language(actor=owner, buyer=buyer, language="es") == "es"
    assert _writes(shop, "Где моя посылка? Очень жду") == "es"
    buyer.refresh_from_db()
    assert buyer.language == "es"
    assert set_buyer_language(actor=owner, buyer=buyer, language="") == "ru"


def test_language_is_cached_once_settled(shop):
    for _ in range(3):
        _writes(shop, "你好，请问什么时候发货")
    state = BuyerAutomationState.objects.get(buyer__external_id="b-lang")
    assert (state.detected_language, state.detection_samples) == ("zh-hans", 3)
    # Settled: an English one-liner no longer flips the buyer's language.
    assert _writes(shop, "ok thanks") == "zh-hans"


def test_other_shop_cannot_override(shop, rival):

    with pytest.raises(ValidationError):
        set_buyer_language(actor=rival, buyer=make_buyer(shop), language="en")
