"""Writes of a buyer's language (R-11): detection from their messages and the agent's fix."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.automation.buyer_state import locked_buyer_state
from kefu.automation.language import detect
from kefu.automation.models import BuyerAutomationState, ScriptLanguage
from kefu.conversations.models import Buyer

LANGUAGE_SETTLED_AFTER = 3  # agreeing detections after which a buyer's language is cached


def update_detected_language(
    *,
    state: BuyerAutomationState,
    buyer: Buyer,
    text: str,
    languages: frozenset[str],
    write: bool = True,
) -> None:
    """Feed one buyer text to the detector; `state` is locked by the caller, who saves it.
    ``write=False``: the buyer's new language is set on ``buyer`` only; the caller writes it
    (the intake batch, once per buyer at the end of the batch, decisions §73)."""
    if state.language_override:
        return
    settled = state.detection_samples >= LANGUAGE_SETTLED_AFTER and state.detected_confidence >= 0.9
    if settled:
        return  # cached: a buyer rarely changes language mid-relationship
    found = detect(text, languages)
    if found is None:
        return
    if found.language == state.detected_language:
        state.detection_samples += 1
        state.detected_confidence = max(state.detected_confidence, found.confidence)
    elif found.confidence >= state.detected_confidence or state.detection_samples < 2:
        state.detected_language = found.language
        state.detected_confidence = found.confidence
        state.detection_samples = 1
    else:
        return
    if buyer.language != state.language:
        if write:
            Buyer.objects.filter(pk=buyer.pk).update(language=state.language)
        buyer.language = state.language


def set_buyer_language(*, actor: User, buyer: Buyer, language: str) -> str:
    """An agent fixes the buyer's language; empty `language` returns to detection."""
    shop = shop_of(actor)
    if buyer.shop_id != shop.pk:
        raise ValidationError(_("not a buyer of your shop"), code="shop")
    if language and language not in ScriptLanguage.values:
        raise ValidationError(
            _("language must be one of %(known)s") % {"known": ", ".join(ScriptLanguage.values)},
            code="language",
        )
    with transaction.atomic():
        state = locked_buyer_state(shop=shop, buyer=buyer)
        state.language_override = language
        state.override_by = actor if language else None
        state.save()
        effective = state.language
        Buyer.objects.filter(pk=buyer.pk).update(language=effective)
        buyer.language = effective
    return effective
