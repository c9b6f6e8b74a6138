"""A new shop's starter automation: the default script library, a starter keyword set and
welcome and out-of-hours texts, so a real shop answers like the demo from its first buyer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop
from kefu.accounts.selectors import owner_of
from kefu.automation.config import settings_for_update
from kefu.automation.data.starter import DOMESTIC_PLATFORMS, KEYWORDS, OUT_OF_HOURS, WELCOME
from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from kefu.automation.models import AutomationSettings, KeywordRuleSet, ReplyType
from kefu.automation.saved_texts import guard_saved_texts
from kefu.automation.scripts import install_default_scripts

log = logging.getLogger("kefu.automation")


@dataclass(frozen=True)
class StarterInstalled:
    """What one run added; all zero and False when the shop had everything already."""

    scripts: int
    keywords: int
    welcome: bool
    out_of_hours: bool

    @property
    def added_anything(self) -> bool:
        return bool(self.scripts or self.keywords or self.welcome or self.out_of_hours)


def _main_language(shop: Shop) -> str:
    return "zh-hans" if shop.platform in DOMESTIC_PLATFORMS else "en"


def install_starter_set(*, shop: Shop) -> StarterInstalled:
    """Install what a new shop starts with; safe to run again, and nothing the owner wrote
    is overwritten.

    - the default script library (scripts already there by key are kept as edited);
    - a starter keyword set, only when the shop never saved one, with keyword replies
      switched off until the owner turns them on;
    - welcome and out-of-hours texts in the four script languages, only where the shop has
      none; on a shop that never saved its automation settings both replies are switched
      on (the out-of-hours one waits for business hours to be set).

    The texts go through the rule guard like the owner's own. One transaction: all or none.
    """
    owner = owner_of(shop)
    if owner is None:
        raise ValidationError(_("the shop has no main account"), code="no_owner")
    language = _main_language(shop)
    with transaction.atomic():
        first_settings = not AutomationSettings.objects.filter(shop=shop).exists()
        keywords = 0
        if not KeywordRuleSet.objects.filter(shop=shop).exists():
            rules = KEYWORDS[language]
            save_keyword_rules(
                actor=owner,
                rules=[
                    KeywordRuleInput(
                        keyword=r["keyword"], reply_type=ReplyType.TEXT, text=r["text"]
                    )
                    for r in rules
                ],
            )
            keywords = len(rules)
        conf = settings_for_update(shop)
        if keywords or first_settings:
            conf.keyword_replies_enabled = False
        welcome = not conf.welcome_text and not conf.welcome_translations
        out_of_hours = not conf.out_of_hours_text and not conf.out_of_hours_translations
        texts: list[tuple[str, str]] = []
        if welcome:
            texts += [(f"welcome ({code})", text) for code, text in WELCOME.items()]
            conf.welcome_text = WELCOME[language]
            conf.welcome_translations = dict(WELCOME)
            conf.welcome_enabled = conf.welcome_enabled or first_settings
        if out_of_hours:
            texts += [(f"out-of-hours ({code})", text) for code, text in OUT_OF_HOURS.items()]
            conf.out_of_hours_text = OUT_OF_HOURS[language]
            conf.out_of_hours_translations = dict(OUT_OF_HOURS)
            conf.out_of_hours_enabled = conf.out_of_hours_enabled or first_settings
        guard_saved_texts(actor=owner, texts=texts, source="welcome")
        if keywords or first_settings or welcome or out_of_hours:
            conf.save()
        scripts = install_default_scripts(shop=shop)
    installed = StarterInstalled(
        scripts=scripts, keywords=keywords, welcome=welcome, out_of_hours=out_of_hours
    )
    log.info(
        "automation.starter_installed shop=%s scripts=%s keywords=%s welcome=%s ooh=%s",
        shop.pk,
        scripts,
        keywords,
        welcome,
        out_of_hours,
    )
    return installed
