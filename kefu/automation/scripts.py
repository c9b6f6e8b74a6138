"""The reply-script library (R-10..R-12): writing scripts and loading the default library."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.automation.config import settings_for_update
from kefu.automation.data.default_library import SCRIPTS as DEFAULT_SCRIPTS
from kefu.automation.models import (
    AutomationSettings,
    Script,
    ScriptLanguage,
    ScriptStage,
    ScriptVariant,
)
from kefu.automation.placeholders import check_template
from kefu.automation.saved_texts import guard_saved_texts


@dataclass
class ScriptInput:
    stage: str
    topic: str
    title: str
    variants: dict[str, str]  # language -> body
    examples: str = ""
    order_states: list[str] = field(default_factory=list)


def _bump_scripts_version(shop: Shop) -> None:
    settings_for_update(shop)
    AutomationSettings.objects.filter(shop=shop).update(
        scripts_version=F("scripts_version") + 1, updated_at=timezone.now()
    )


def _check_script(data: ScriptInput) -> None:
    problems: list[str] = []
    if data.stage not in ScriptStage.values:
        problems.append(_("stage must be pre_sale, in_sale or after_sale"))
    if not data.topic.strip() or len(data.topic.strip()) > 60:
        problems.append(_("a topic is 1-60 characters"))
    if not data.title.strip() or len(data.title.strip()) > 160:
        problems.append(_("a title is 1-160 characters"))
    if len(data.examples) > 8000:
        problems.append(_("examples are at most 8000 characters"))
    bodies = {lang: body.strip() for lang, body in data.variants.items() if body.strip()}
    if not bodies:
        problems.append(_("a script needs the text of at least one language"))
    for lang, body in bodies.items():
        if lang not in ScriptLanguage.values:
            problems.append(_("unknown language %(code)r") % {"code": lang})
            continue
        if len(body) > 4000:
            problems.append(_("the %(code)s text is at most 4000 characters") % {"code": lang})
        try:
            check_template(body)
        except ValidationError as exc:
            problems.extend(f"{lang}: {m}" for m in exc.messages)
    if problems:
        raise ValidationError(problems)


def _write_variants(script: Script, variants: dict[str, str]) -> None:
    bodies = {lang: body.strip() for lang, body in variants.items() if body.strip()}
    ScriptVariant.objects.filter(script=script).exclude(language__in=list(bodies)).delete()
    for lang, body in bodies.items():
        ScriptVariant.objects.update_or_create(
            script=script, language=lang, defaults={"body": body, "shop": script.shop}
        )


def _topic_slug(topic: str) -> str:
    return re.sub(r"\s+", "_", topic.strip().lower())[:60]


def create_script(*, actor: User, data: ScriptInput) -> Script:
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    _check_script(data)
    guard_saved_texts(actor=actor, texts=list(data.variants.items()), source="script")
    with transaction.atomic():
        script = Script.objects.create(
            shop=shop,
            stage=data.stage,
            topic=_topic_slug(data.topic),
            title=data.title.strip(),
            examples=data.examples.strip(),
            order_states=",".join(s.strip() for s in data.order_states if s.strip()),
            created_by=actor,
        )
        _write_variants(script, data.variants)
        _bump_scripts_version(shop)
    return script


def update_script(*, actor: User, script: Script, data: ScriptInput) -> Script:
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    if script.shop_id != shop.pk:
        raise ValidationError(_("not a script of your shop"), code="shop")
    _check_script(data)
    guard_saved_texts(actor=actor, texts=list(data.variants.items()), source="script")
    with transaction.atomic():
        script.stage = data.stage
        script.topic = _topic_slug(data.topic)
        script.title = data.title.strip()
        script.examples = data.examples.strip()
        script.order_states = ",".join(s.strip() for s in data.order_states if s.strip())
        script.save()
        _write_variants(script, data.variants)
        _bump_scripts_version(shop)
    return script


def set_script_active(*, actor: User, script: Script, active: bool) -> Script:
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    if script.shop_id != shop.pk:
        raise ValidationError(_("not a script of your shop"), code="shop")
    with transaction.atomic():
        script.is_active = active
        script.save(update_fields=["is_active", "updated_at"])
        _bump_scripts_version(shop)
    return script


def install_default_scripts(*, shop: Shop) -> int:
    """Load the default library into a shop; scripts already there (same key) are kept as the
    shop edited them. Returns how many scripts were added. Safe to run again."""
    existing = set(Script.objects.filter(shop=shop).exclude(key="").values_list("key", flat=True))
    added = 0
    with transaction.atomic():
        for item in DEFAULT_SCRIPTS:
            if item["key"] in existing:
                continue
            examples = "\n".join(
                line for lang in ScriptLanguage.values for line in item["examples"].get(lang, [])
            )
            script = Script.objects.create(
                shop=shop,
                key=item["key"],
                stage=item["stage"],
                topic=item["topic"],
                title=item["title"],
                examples=examples,
                order_states=",".join(item["order_states"]),
            )
            ScriptVariant.objects.bulk_create(
                ScriptVariant(shop=shop, script=script, language=lang, body=body)
                for lang, body in item["bodies"].items()
            )
            added += 1
        if added:
            _bump_scripts_version(shop)
    return added
