"""A buyer's language: detected from messages, fixed by an agent (R-11)."""

import pytest
from django.core.exceptions import ValidationError

from kefu.automation.buyer_language import detect_buyer_language, set_buyer_language
from kefu.automation.models import BuyerAutomationState

from .conftest import make_buyer


def test_agent_override_wins_over_detection(shop, owner):
    buyer = make_buyer(shop)
    assert detect_buyer_language(buyer=buyer, text="Где моя посылка?") == "ru"
    assert set_buyer_language(actor=owner, buyer=buyer, language="es") == "es"
    assert detect_buyer_language(buyer=buyer, text="Где моя посылка? Очень жду") == "es"
    buyer.refresh_from_db()
    assert buyer.language == "es"
    assert set_buyer_language(actor=owner, buyer=buyer, language="") == "ru"


def test_language_is_cached_once_settled(shop):
    buyer = make_buyer(shop)
    for _ in range(3):
        detect_buyer_language(buyer=buyer, text="你好，请问什么时候发货")
    state = BuyerAutomationState.objects.get(buyer=buyer)
    assert (state.detected_language, state.detection_samples) == ("zh-hans", 3)
    # Settled: an English one-liner no longer flips the buyer's language.
    assert detect_buyer_language(buyer=buyer, text="ok thanks") == "zh-hans"


def test_other_shop_cannot_override(shop, rival):

    with pytest.raises(ValidationError):
        set_buyer_language(actor=rival, buyer=make_buyer(shop), language="en")
