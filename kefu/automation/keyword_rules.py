"""The keyword set (R-08): checking, previewing and putting a whole set of rules live at once."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.automation.coupons import PERCENT, buyer_facing_language, coupon_offer
from kefu.automation.keywords import KeywordMatcher, fold_keyword
from kefu.automation.language import detect
from kefu.automation.models import (
    KEYWORD_MAX_CHARS,
    MAX_ACTIVE_RULES,
    MIN_ACTIVE_RULES,
    AutomationSettings,
    KeywordRule,
    KeywordRuleSet,
    ReplyType,
)
from kefu.automation.saved_texts import guard_saved_texts
from kefu.automation.selectors import settings_of
from kefu.conversations.media import CleanImage, ImageRefused, clean_image

log = logging.getLogger("kefu.automation")

COUPON_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass
class KeywordRuleInput:
    """One rule as the owner entered it. Exactly one of text / image / coupon is used,
    the one named by `reply_type`; the others must be empty."""

    keyword: str
    reply_type: str
    is_active: bool = True
    text: str = ""
    image_upload: UploadedFile | None = None
    keep_image_of_rule: int | None = None  # reuse the image of an existing rule
    coupon_code: str = ""
    coupon_value: Decimal | str | None = None
    coupon_currency: str = ""
    coupon_valid_until: dt.date | None = None
    coupon_min_spend: Decimal | str | None = None


@dataclass
class _CleanRule:
    keyword: str
    reply_type: str
    is_active: bool
    text: str = ""
    image: CleanImage | None = None
    image_name: str = ""
    coupon_code: str = ""
    coupon_value: Decimal | None = None
    coupon_currency: str = ""
    coupon_valid_until: dt.date | None = None
    coupon_min_spend: Decimal | None = None


@dataclass(frozen=True)
class PreviewRow:
    sample: str
    keyword: str | None
    reply_type: str | None
    reply: str


@dataclass
class KeywordPreview:
    errors: list[str] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list)

    @property
    def can_save(self) -> bool:
        return not self.errors


def _decimal(value: Decimal | str | None, what: str, n: int) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValidationError(
            _("rule %(n)s: %(what)s is not a number") % {"n": n, "what": what}
        ) from exc
    if not number.is_finite() or number <= 0 or number >= Decimal("100000000"):
        raise ValidationError(
            _("rule %(n)s: %(what)s must be a positive amount") % {"n": n, "what": what}
        )
    return number.quantize(Decimal("0.01"))


def _checked_image(upload: UploadedFile, n: int, errors: list[str]) -> CleanImage | None:
    """The upload decoded and re-encoded without its metadata, as buyers will get it."""
    try:
        return clean_image(upload)
    except ImageRefused as exc:
        errors.append(_("rule %(n)s: %(problem)s") % {"n": n, "problem": exc.messages[0]})
        return None
    finally:
        upload.seek(0)


def _clean_rule(shop: Shop, raw: KeywordRuleInput, n: int, errors: list[str]) -> _CleanRule | None:
    start = len(errors)
    keyword = raw.keyword.strip()
    if not keyword:
        errors.append(_("rule %(n)s: the keyword is empty") % {"n": n})
    elif len(keyword) > KEYWORD_MAX_CHARS:
        errors.append(
            _("rule %(n)s: a keyword is at most %(limit)s characters (this one has %(length)s)")
            % {"n": n, "limit": KEYWORD_MAX_CHARS, "length": len(keyword)}
        )
    if raw.reply_type not in ReplyType.values:
        errors.append(_("rule %(n)s: the reply type must be text, image or coupon") % {"n": n})
        return None
    text = raw.text.strip()
    has_image = raw.image_upload is not None or raw.keep_image_of_rule is not None
    has_coupon = bool(raw.coupon_code.strip()) or raw.coupon_value not in (None, "")
    filled = [
        name
        for name, on in (("text", bool(text)), ("image", has_image), ("coupon", has_coupon))
        if on
    ]
    others = [str(ReplyType(f).label).lower() for f in filled if f != raw.reply_type]
    if others:
        errors.append(
            _("rule %(n)s: a rule has exactly one reply type (%(type)s); remove the %(others)s")
            % {
                "n": n,
                "type": str(ReplyType(raw.reply_type).label).lower(),
                "others": _(" and ").join(others),
            }
        )
    clean = _CleanRule(keyword=keyword, reply_type=raw.reply_type, is_active=raw.is_active)
    if raw.reply_type == ReplyType.TEXT:
        if not text:
            errors.append(_("rule %(n)s: the reply text is empty") % {"n": n})
        elif len(text) > 2000:
            errors.append(_("rule %(n)s: the reply text is at most 2000 characters") % {"n": n})
        clean.text = text
    elif raw.reply_type == ReplyType.IMAGE:
        if raw.image_upload is not None:
            clean.image = _checked_image(raw.image_upload, n, errors)
            clean.image_name = raw.image_upload.name or "image"
        elif raw.keep_image_of_rule is not None:
            old = (
                KeywordRule.objects.filter(shop=shop, pk=raw.keep_image_of_rule)
                .exclude(image="")
                .first()
            )
            if old is None:
                errors.append(_("rule %(n)s: the image to keep was not found") % {"n": n})
            else:
                clean.image_name = old.image.name
        else:
            errors.append(_("rule %(n)s: upload an image") % {"n": n})
    else:
        code = raw.coupon_code.strip()
        if not COUPON_CODE.match(code):
            errors.append(_("rule %(n)s: a coupon code is 1-40 letters, digits, - or _") % {"n": n})
        try:
            clean.coupon_value = _decimal(raw.coupon_value, _("the coupon value"), n)
            clean.coupon_min_spend = _decimal(raw.coupon_min_spend, _("the minimum spend"), n)
        except ValidationError as exc:
            errors.extend(exc.messages)
        if clean.coupon_value is None and len(errors) == start:
            errors.append(_("rule %(n)s: the coupon needs a value") % {"n": n})
        currency = (raw.coupon_currency or shop.currency).strip().upper()
        if currency == PERCENT:
            # A percentage off: the buyer reads "10% off", and more than all of it is no offer.
            if clean.coupon_value is not None and clean.coupon_value >= 100:
                errors.append(_("rule %(n)s: a percentage off is less than 100") % {"n": n})
        elif len(currency) != 3 or not currency.isalpha():
            errors.append(
                _("rule %(n)s: the currency is a 3-letter code such as USD, or %% for a percentage")
                % {"n": n}
            )
        if raw.coupon_valid_until is None:
            errors.append(_("rule %(n)s: the coupon needs a last valid day") % {"n": n})
        clean.coupon_code = code
        clean.coupon_currency = currency
        clean.coupon_valid_until = raw.coupon_valid_until
    return clean if len(errors) == start else None


def _clean_rule_set(
    shop: Shop, rules: list[KeywordRuleInput]
) -> tuple[list[_CleanRule], list[str]]:
    errors: list[str] = []
    cleaned = []
    for n, raw in enumerate(rules, start=1):
        clean = _clean_rule(shop, raw, n, errors)
        if clean is not None:
            cleaned.append(clean)
    active = [r for r in rules if r.is_active]
    if not MIN_ACTIVE_RULES <= len(active) <= MAX_ACTIVE_RULES:
        errors.insert(
            0,
            _("a keyword set needs %(min)s to %(max)s active rules; this one has %(count)s")
            % {"min": MIN_ACTIVE_RULES, "max": MAX_ACTIVE_RULES, "count": len(active)},
        )
    if len(rules) > 30:
        errors.append(_("keep at most 30 rules in a set, active or not"))
    seen: dict[str, int] = {}
    for n, raw in enumerate(rules, start=1):
        key = fold_keyword(raw.keyword)
        if raw.is_active and key:
            if key in seen:
                errors.append(
                    _("rule %(n)s: the same keyword as rule %(other)s")
                    % {"n": n, "other": seen[key]}
                )
            seen.setdefault(key, n)
    return cleaned, errors


def _preview_reply(
    rule: KeywordRuleInput, shop: Shop, conf: AutomationSettings, sample: str
) -> str:
    if rule.reply_type == ReplyType.IMAGE:
        name = rule.image_upload.name if rule.image_upload is not None else _("kept image")
        return _("[image: %(name)s]") % {"name": name}
    if rule.reply_type == ReplyType.COUPON:
        try:
            value = _decimal(rule.coupon_value, "", 0)
            min_spend = _decimal(rule.coupon_min_spend, "", 0)
        except ValidationError:
            value = None
        if value is None:
            return _("[coupon %(code)s: %(value)s %(unit)s]") % {
                "code": rule.coupon_code.strip(),
                "value": rule.coupon_value or "",
                "unit": rule.coupon_currency,
            }
        # What a buyer writing this sample would read: the offer in the sample's language.
        found = detect(sample, frozenset(conf.language_list()))
        return coupon_offer(
            code=rule.coupon_code.strip(),
            value=value,
            currency=(rule.coupon_currency or shop.currency).strip().upper(),
            valid_until=rule.coupon_valid_until,
            min_spend=min_spend,
            shop_currency=shop.currency,
            shop_timezone=shop.timezone,
            language=buyer_facing_language(found.language if found else "", conf),
        ).text
    return rule.text.strip()


def preview_keyword_rules(
    *, shop: Shop, rules: list[KeywordRuleInput], samples: list[str]
) -> KeywordPreview:
    """How an unsaved set would answer sample buyer messages. Writes nothing."""
    _cleaned, errors = _clean_rule_set(shop, rules)
    conf = settings_of(shop)
    matcher = KeywordMatcher(
        (i, r.keyword) for i, r in enumerate(rules) if r.is_active and r.keyword.strip()
    )
    rows = []
    for sample in samples:
        if not sample.strip():
            continue
        found = matcher.match(sample)
        if found is None:
            rows.append(PreviewRow(sample=sample, keyword=None, reply_type=None, reply=""))
            continue
        rule = rules[found.rule_id]
        rows.append(
            PreviewRow(
                sample=sample,
                keyword=rule.keyword.strip(),
                reply_type=rule.reply_type,
                reply=_preview_reply(rule, shop, conf, sample),
            )
        )
    return KeywordPreview(errors=errors, rows=rows)


def save_keyword_rules(
    *, actor: User, rules: list[KeywordRuleInput], expected_version: int | None = None
) -> KeywordRuleSet:
    """Validate and put a whole keyword set live at once (a new version).

    `expected_version` is the version the editor started from; when another save happened
    in between, nothing is written and a ValidationError asks to reload.
    """
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    cleaned, errors = _clean_rule_set(shop, rules)
    if errors:
        raise ValidationError(errors)
    guard_saved_texts(
        actor=actor,
        texts=[
            (_("rule %(n)s (%(keyword)s)") % {"n": n, "keyword": r.keyword}, r.text)
            for n, r in enumerate(rules, start=1)
            if r.reply_type == "text"
        ],
        source="keyword_reply",
    )
    with transaction.atomic():
        KeywordRuleSet.objects.get_or_create(shop=shop)
        rule_set = KeywordRuleSet.objects.select_for_update().get(shop=shop)
        if expected_version is not None and rule_set.version != expected_version:
            raise ValidationError(
                _("the keyword set was changed by someone else; reload and try again"),
                code="stale",
            )
        version = rule_set.version + 1
        for position, clean in enumerate(cleaned):
            rule = KeywordRule(
                shop=shop,
                version=version,
                position=position,
                keyword=clean.keyword,
                is_active=clean.is_active,
                reply_type=clean.reply_type,
                text=clean.text,
                coupon_code=clean.coupon_code,
                coupon_value=clean.coupon_value,
                coupon_currency=clean.coupon_currency,
                coupon_valid_until=clean.coupon_valid_until,
                coupon_min_spend=clean.coupon_min_spend,
            )
            if clean.image is not None:
                # The cleaned copy, not the upload: no EXIF (a phone's GPS position) is kept.
                stem = clean.image_name.rsplit(".", 1)[0] or "image"
                rule.image.save(
                    f"{stem}.{clean.image.extension}", ContentFile(clean.image.data), save=False
                )
            elif clean.image_name:
                rule.image.name = clean.image_name
            rule.save()
        rule_set.version = version
        rule_set.updated_by = actor
        rule_set.save()
    log.info(
        "automation.keyword_set_saved shop=%s version=%s rules=%s", shop.pk, version, len(cleaned)
    )
    return rule_set
