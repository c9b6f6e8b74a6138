"""Every write of the automation domain: one keyword-only function per action."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.automation import selectors
from kefu.automation.business_hours import Interval, is_open, local_moment
from kefu.automation.data.default_library import SCRIPTS as DEFAULT_SCRIPTS
from kefu.automation.keywords import KeywordMatcher, fold_keyword
from kefu.automation.language import detect
from kefu.automation.models import (
    KEYWORD_MAX_CHARS,
    MAX_ACTIVE_RULES,
    MIN_ACTIVE_RULES,
    AutomationHit,
    AutomationSettings,
    BusinessHours,
    BuyerAutomationState,
    HitKind,
    Holiday,
    KeywordRule,
    KeywordRuleSet,
    QuickReply,
    ReplyType,
    Script,
    ScriptLanguage,
    ScriptStage,
    ScriptVariant,
)
from kefu.automation.placeholders import check_template
from kefu.conversations.models import Buyer, Conversation, Direction, Message, MessageKind
from kefu.core.scoping import shop_of

log = logging.getLogger("kefu.automation")

WELCOME_WINDOW = dt.timedelta(hours=24)
OUTCOME_WINDOW = dt.timedelta(hours=48)
LANGUAGE_SETTLED_AFTER = 3  # agreeing detections after which a buyer's language is cached
MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}
COUPON_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _shop(actor: User) -> Shop:
    return shop_of(actor)


def _settings_for_update(shop: Shop) -> AutomationSettings:
    obj, _created = AutomationSettings.objects.get_or_create(shop=shop)
    return obj


# ================================================================== settings and hours


def _guard_saved(*, actor: User, texts: list[tuple[str, str]], source: str) -> None:
    """R-29: a saved text that breaks a platform rule is itself a violation: refuse to save it.

    ``texts`` are (label, text) pairs; every blocked one is reported, nothing is written.
    """
    from kefu.compliance.services import ComplianceBlocked, ensure_saveable

    shop = _shop(actor)
    problems = []
    for label, text in texts:
        if not text.strip():
            continue
        try:
            ensure_saveable(shop=shop, actor=actor, text=text, source=source)
        except ComplianceBlocked as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise ValidationError(problems, code="rules")


def _clean_translations(raw: dict[str, str] | None, label: str) -> dict[str, str] | None:
    if raw is None:
        return None
    cleaned = {}
    for code, text in raw.items():
        if code not in ScriptLanguage.values:
            raise ValidationError(
                f"the {label} text has an unknown language {code!r}; use one of "
                + ", ".join(ScriptLanguage.values),
                code="languages",
            )
        if len(text.strip()) > 2000:
            raise ValidationError(
                f"the {label} text ({code}) is at most 2000 characters", code="too_long"
            )
        if text.strip():
            cleaned[code] = text.strip()
    return cleaned


def update_automation_settings(
    *,
    actor: User,
    welcome_enabled: bool,
    welcome_text: str,
    out_of_hours_enabled: bool,
    out_of_hours_text: str,
    agent_quiet_minutes: int,
    keyword_replies_enabled: bool,
    suggestions_enabled: bool = True,
    languages: list[str] | None = None,
    welcome_translations: dict[str, str] | None = None,
    out_of_hours_translations: dict[str, str] | None = None,
) -> AutomationSettings:
    """The owner's switches (R-07, R-09). A reply with empty text is off whatever its switch.

    The translations map a buyer language to its own text; None keeps the stored ones."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = _shop(actor)
    if not 0 <= agent_quiet_minutes <= 24 * 60:
        raise ValidationError("the quiet period is 0 to 1440 minutes", code="quiet_minutes")
    for label, text in (("welcome", welcome_text), ("out-of-hours", out_of_hours_text)):
        if len(text.strip()) > 2000:
            raise ValidationError(f"the {label} text is at most 2000 characters", code="too_long")
    welcome_by_language = _clean_translations(welcome_translations, "welcome")
    out_of_hours_by_language = _clean_translations(out_of_hours_translations, "out-of-hours")
    _guard_saved(
        actor=actor,
        texts=[
            ("welcome", welcome_text),
            ("out-of-hours", out_of_hours_text),
            *((f"welcome ({code})", t) for code, t in (welcome_by_language or {}).items()),
            *(
                (f"out-of-hours ({code})", t)
                for code, t in (out_of_hours_by_language or {}).items()
            ),
        ],
        source="welcome",
    )
    chosen = languages if languages is not None else None
    if chosen is not None:
        unknown = [c for c in chosen if c not in ScriptLanguage.values]
        if unknown or not chosen:
            raise ValidationError(
                f"languages must be some of {', '.join(ScriptLanguage.values)}", code="languages"
            )
    with transaction.atomic():
        conf = _settings_for_update(shop)
        conf.welcome_enabled = welcome_enabled
        conf.welcome_text = welcome_text.strip()
        conf.out_of_hours_enabled = out_of_hours_enabled
        conf.out_of_hours_text = out_of_hours_text.strip()
        if welcome_by_language is not None:
            conf.welcome_translations = welcome_by_language
        if out_of_hours_by_language is not None:
            conf.out_of_hours_translations = out_of_hours_by_language
        conf.agent_quiet_minutes = agent_quiet_minutes
        conf.keyword_replies_enabled = keyword_replies_enabled
        conf.suggestions_enabled = suggestions_enabled
        if chosen is not None:
            conf.languages = ",".join(c for c in ScriptLanguage.values if c in chosen)
        conf.save()
    log.info("automation.settings_updated shop=%s actor=%s", shop.pk, actor.pk)
    return conf


@dataclass(frozen=True)
class HolidayInput:
    day: dt.date
    name: str = ""


def set_business_hours(
    *, actor: User, intervals: list[Interval], holidays: list[HolidayInput]
) -> None:
    """Replace the weekly schedule (shop-local times) and the holiday list."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = _shop(actor)
    for iv in intervals:
        if not 0 <= iv.weekday <= 6:
            raise ValidationError("weekday is 0 (Monday) to 6 (Sunday)", code="weekday")
        if iv.closes <= iv.opens:
            raise ValidationError(
                f"closing time {iv.closes:%H:%M} must be after opening time {iv.opens:%H:%M}",
                code="hours_order",
            )
    by_day: dict[int, list[Interval]] = {}
    for iv in sorted(intervals, key=lambda i: (i.weekday, i.opens)):
        same_day = by_day.setdefault(iv.weekday, [])
        if same_day and same_day[-1].closes > iv.opens:
            raise ValidationError("opening intervals of one day overlap", code="overlap")
        same_day.append(iv)
    days = [h.day for h in holidays]
    if len(days) != len(set(days)):
        raise ValidationError("a holiday is listed twice", code="holiday_twice")
    with transaction.atomic():
        BusinessHours.objects.filter(shop=shop).delete()
        BusinessHours.objects.bulk_create(
            BusinessHours(shop=shop, weekday=iv.weekday, opens=iv.opens, closes=iv.closes)
            for iv in intervals
        )
        Holiday.objects.filter(shop=shop).delete()
        Holiday.objects.bulk_create(
            Holiday(shop=shop, day=h.day, name=h.name.strip()[:80]) for h in holidays
        )


# ================================================================== buyer message intake


def _locked_state(*, shop: Shop, buyer: Buyer) -> BuyerAutomationState:
    # Every buyer message passes here: the usual case (the row exists) is one locking read.
    state = BuyerAutomationState.objects.select_for_update().filter(buyer=buyer).first()
    if state is not None:
        return state
    try:
        with transaction.atomic():
            BuyerAutomationState.objects.create(buyer=buyer, shop=shop)
    except IntegrityError:
        pass  # another message of this buyer created it first; lock theirs
    return BuyerAutomationState.objects.select_for_update().get(buyer=buyer)


def _auto_message(
    *,
    trigger: Message,
    kind: str,
    text: str,
    payload: dict[str, object],
) -> Message:
    now = timezone.now()
    return Message.objects.create(
        shop_id=trigger.shop_id,
        conversation_id=trigger.conversation_id,
        buyer_id=trigger.buyer_id,
        direction=Direction.AUTO,
        kind=kind,
        text=text,
        author=None,
        sent_at=max(now, trigger.sent_at),
        payload=payload,
    )


def _hit(
    *,
    kind: str,
    trigger: Message,
    reply: Message,
    rule: KeywordRule | None = None,
) -> AutomationHit:
    return AutomationHit.objects.create(
        shop_id=trigger.shop_id,
        kind=kind,
        conversation_id=trigger.conversation_id,
        buyer_id=trigger.buyer_id,
        trigger_message=trigger,
        reply_message=reply,
        rule=rule,
        keyword=rule.keyword if rule is not None else "",
        created_at=reply.sent_at,
    )


def _reply_language(state: BuyerAutomationState, buyer: Buyer) -> str:
    """The language an automatic reply is written in: the agent's correction, then what this
    buyer's messages read as, then what the marketplace said."""
    if state.language:
        return state.language
    given = buyer.language.strip().lower()
    return "zh-hans" if given.startswith("zh") else given[:2]


def _welcome_due(conf: AutomationSettings, message: Message, text: str) -> bool:
    if not (conf.welcome_enabled and text):
        return False
    # the buyer's first message in the last 24 hours, across all their conversations
    # with this shop. A message exactly 24 h old is outside the window.
    earlier = Message.objects.filter(
        shop_id=message.shop_id,
        buyer_id=message.buyer_id,
        direction=Direction.BUYER,
        sent_at__gt=message.sent_at - WELCOME_WINDOW,
        sent_at__lte=message.sent_at,
    ).exclude(pk=message.pk)
    return not earlier.exists()


def _out_of_hours_day(
    conf: AutomationSettings,
    state: BuyerAutomationState,
    message: Message,
    shop: Shop,
    text: str,
) -> dt.date | None:
    """The shop-local day to record when an out-of-hours reply is due, else None."""
    if not (conf.out_of_hours_enabled and text):
        return None
    schedule = selectors.schedule_of(shop)
    if not schedule:
        return None  # no schedule set: the shop has not said when it is closed
    local_day = local_moment(message.sent_at, shop.timezone).date()
    if state.out_of_hours_day == local_day:
        return None
    if is_open(
        moment=message.sent_at,
        tz_name=shop.timezone,
        schedule=schedule,
        holidays=selectors.holidays_of(shop, around=local_day),
    ):
        return None
    if conf.agent_quiet_minutes:
        recent_agent = Message.objects.filter(
            shop_id=message.shop_id,
            buyer_id=message.buyer_id,
            direction=Direction.AGENT,
            sent_at__gte=message.sent_at - dt.timedelta(minutes=conf.agent_quiet_minutes),
            sent_at__lte=message.sent_at,
        ).exists()
        if recent_agent:
            return None
    return local_day


def _keyword_reply(trigger: Message, rule: KeywordRule) -> Message:
    payload: dict[str, object] = {
        "automation": HitKind.KEYWORD.value,
        "rule_id": rule.pk,
        "keyword": rule.keyword,
        "reply_to": trigger.pk,
    }
    if rule.reply_type == ReplyType.IMAGE:
        # `name` is the file in the keyword-image storage (what a channel adapter sends);
        # `url` is the signed-in page that shows it to agents.
        payload["image"] = {
            "name": rule.image.name,
            "url": reverse("automation:keyword_image", args=[rule.pk]),
        }
        return _auto_message(trigger=trigger, kind=MessageKind.IMAGE, text="", payload=payload)
    if rule.reply_type == ReplyType.COUPON:
        coupon = {
            "code": rule.coupon_code,
            "value": str(rule.coupon_value),
            "currency": rule.coupon_currency,
            "valid_until": rule.coupon_valid_until.isoformat() if rule.coupon_valid_until else None,
            "min_spend": str(rule.coupon_min_spend) if rule.coupon_min_spend is not None else None,
        }
        payload["coupon"] = coupon
        text = f"{rule.coupon_code}: {rule.coupon_value} {rule.coupon_currency}"
        return _auto_message(trigger=trigger, kind=MessageKind.COUPON, text=text, payload=payload)
    return _auto_message(trigger=trigger, kind=MessageKind.TEXT, text=rule.text, payload=payload)


def on_buyer_message(*, message: Message) -> list[Message]:
    """Decide and create the automatic replies to one stored buyer message (R-07, R-08).

    Call it inside message intake, in the same transaction that stored `message`, after the
    conversation's unread/waiting state was updated for it. It returns the new Message rows
    (direction "auto", payload {"automation": "welcome"|"out_of_hours"|"keyword",
    "rule_id": ..., "reply_to": message id}) in sending order. It never touches the
    conversation: the buyer's message stays unread and waiting for a person. The caller
    writes the outbox rows for the returned messages and pushes them after commit.

    Also: records that the buyer answered earlier auto-replies and script uses of this
    conversation (R-14) and updates the buyer's detected language (R-11). Locks the buyer's
    automation row, so concurrent messages of one buyer are decided one after the other.
    """
    if message.direction != Direction.BUYER:
        return []
    shop = message.shop
    replies: list[Message] = []
    with transaction.atomic():
        state = _locked_state(shop=shop, buyer=message.buyer)
        _note_buyer_reply(message)
        conf = selectors.settings_of(shop)
        if message.kind == MessageKind.TEXT and message.text:
            _update_detected_language(
                state=state,
                buyer=message.buyer,
                text=message.text,
                languages=frozenset(conf.language_list()),
            )
        language = _reply_language(state, message.buyer)
        welcome_text = conf.welcome_for(language)
        if _welcome_due(conf, message, welcome_text):
            reply = _auto_message(
                trigger=message,
                kind=MessageKind.TEXT,
                text=welcome_text,
                payload={
                    "automation": HitKind.WELCOME.value,
                    "rule_id": None,
                    "reply_to": message.pk,
                },
            )
            _hit(kind=HitKind.WELCOME, trigger=message, reply=reply)
            state.last_welcome_at = reply.sent_at
            replies.append(reply)
        out_of_hours_text = conf.out_of_hours_for(language)
        ooh_day = _out_of_hours_day(conf, state, message, shop, out_of_hours_text)
        if ooh_day is not None:
            reply = _auto_message(
                trigger=message,
                kind=MessageKind.TEXT,
                text=out_of_hours_text,
                payload={
                    "automation": HitKind.OUT_OF_HOURS.value,
                    "rule_id": None,
                    "reply_to": message.pk,
                },
            )
            _hit(kind=HitKind.OUT_OF_HOURS, trigger=message, reply=reply)
            state.out_of_hours_day = ooh_day
            replies.append(reply)
        if conf.keyword_replies_enabled and message.kind == MessageKind.TEXT and message.text:
            live = selectors.live_keywords(shop)
            # A set below the minimum is never live; check anyway for rows written by hand.
            if len(live.rules) >= MIN_ACTIVE_RULES:
                found = live.matcher.match(message.text)
                if found is not None:
                    rule = live.rules[found.rule_id]
                    reply = _keyword_reply(message, rule)
                    _hit(kind=HitKind.KEYWORD, trigger=message, reply=reply, rule=rule)
                    replies.append(reply)
        state.save()
    for reply in replies:
        log.info(
            "automation.auto_reply shop=%s conversation=%s kind=%s message=%s",
            shop.pk,
            message.conversation_id,
            reply.payload.get("automation"),
            reply.pk,
        )
    return replies


# ================================================================== outcomes


def _note_buyer_reply(message: Message) -> int:
    return AutomationHit.objects.filter(
        shop_id=message.shop_id,
        conversation_id=message.conversation_id,
        buyer_replied_at__isnull=True,
        created_at__gte=message.sent_at - OUTCOME_WINDOW,
        created_at__lt=message.sent_at,
    ).update(buyer_replied_at=message.sent_at)


def note_order_placed(*, shop: Shop, buyer: Buyer, placed_at: dt.datetime) -> int:
    """The orders domain calls this when a buyer places an order: auto-replies and script
    uses for that buyer in the 48 h before count as followed by an order."""
    return AutomationHit.objects.filter(
        shop=shop,
        buyer=buyer,
        ordered_at__isnull=True,
        created_at__gte=placed_at - OUTCOME_WINDOW,
        created_at__lte=placed_at,
    ).update(ordered_at=placed_at)


def note_complaint(*, shop: Shop, conversation: Conversation, at: dt.datetime) -> int:
    """The care domain calls this when a complaint is recorded for a conversation."""
    return AutomationHit.objects.filter(
        shop=shop,
        conversation=conversation,
        complained_at__isnull=True,
        created_at__gte=at - OUTCOME_WINDOW,
        created_at__lte=at,
    ).update(complained_at=at)


def record_script_use(
    *,
    agent: User,
    conversation: Conversation,
    script: Script,
    language: str,
    message: Message | None = None,
    suggested: bool = False,
) -> AutomationHit:
    """Call when an agent sends a reply built from a script (R-14); `message` is the sent
    agent message, `suggested` whether the script came from the suggestions."""
    shop = shop_of(agent)
    if conversation.shop_id != shop.pk or script.shop_id != shop.pk:
        raise ValidationError("script and conversation must belong to your shop", code="shop")
    if message is not None and message.conversation_id != conversation.pk:
        raise ValidationError("the message is not in this conversation", code="message")
    return AutomationHit.objects.create(
        shop=shop,
        kind=HitKind.SCRIPT,
        conversation=conversation,
        buyer_id=conversation.buyer_id,
        reply_message=message,
        script=script,
        language=language,
        agent=agent,
        suggested=suggested,
        created_at=message.sent_at if message is not None else timezone.now(),
    )


# ================================================================== language


def _update_detected_language(
    *, state: BuyerAutomationState, buyer: Buyer, text: str, languages: frozenset[str]
) -> None:
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
        Buyer.objects.filter(pk=buyer.pk).update(language=state.language)
        buyer.language = state.language


def detect_buyer_language(*, buyer: Buyer, text: str) -> str:
    """Feed one buyer text to the detector outside intake; returns the buyer's language."""
    with transaction.atomic():
        state = _locked_state(shop=buyer.shop, buyer=buyer)
        conf = selectors.settings_of(buyer.shop)
        _update_detected_language(
            state=state, buyer=buyer, text=text, languages=frozenset(conf.language_list())
        )
        state.save()
    return state.language


def set_buyer_language(*, actor: User, buyer: Buyer, language: str) -> str:
    """An agent fixes the buyer's language; empty `language` returns to detection."""
    shop = shop_of(actor)
    if buyer.shop_id != shop.pk:
        raise ValidationError("not a buyer of your shop", code="shop")
    if language and language not in ScriptLanguage.values:
        raise ValidationError(
            f"language must be one of {', '.join(ScriptLanguage.values)}", code="language"
        )
    with transaction.atomic():
        state = _locked_state(shop=shop, buyer=buyer)
        state.language_override = language
        state.override_by = actor if language else None
        state.save()
        effective = state.language
        Buyer.objects.filter(pk=buyer.pk).update(language=effective)
        buyer.language = effective
    return effective


# ================================================================== keyword rules


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
    image_upload: UploadedFile | None = None
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
        raise ValidationError(f"rule {n}: {what} is not a number") from exc
    if not number.is_finite() or number <= 0 or number >= Decimal("100000000"):
        raise ValidationError(f"rule {n}: {what} must be a positive amount")
    return number.quantize(Decimal("0.01"))


def _image_problem(upload: UploadedFile) -> str | None:
    if upload.size is None or upload.size > MAX_IMAGE_BYTES:
        return "the image is larger than 2 MB"
    head = upload.read(16)
    upload.seek(0)
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not is_webp and not any(head.startswith(sig) for sig in IMAGE_SIGNATURES):
        return "the image must be a PNG, JPEG, GIF or WebP file"
    return None


def _clean_rule(shop: Shop, raw: KeywordRuleInput, n: int, errors: list[str]) -> _CleanRule | None:
    start = len(errors)
    keyword = raw.keyword.strip()
    if not keyword:
        errors.append(f"rule {n}: the keyword is empty")
    elif len(keyword) > KEYWORD_MAX_CHARS:
        errors.append(
            f"rule {n}: a keyword is at most {KEYWORD_MAX_CHARS} characters "
            f"(this one has {len(keyword)})"
        )
    if raw.reply_type not in ReplyType.values:
        errors.append(f"rule {n}: the reply type must be text, image or coupon")
        return None
    text = raw.text.strip()
    has_image = raw.image_upload is not None or raw.keep_image_of_rule is not None
    has_coupon = bool(raw.coupon_code.strip()) or raw.coupon_value not in (None, "")
    filled = [
        name
        for name, on in (("text", bool(text)), ("image", has_image), ("coupon", has_coupon))
        if on
    ]
    others = [f for f in filled if f != raw.reply_type]
    if others:
        errors.append(
            f"rule {n}: a rule has exactly one reply type ({raw.reply_type}); "
            f"remove the {' and '.join(others)}"
        )
    clean = _CleanRule(keyword=keyword, reply_type=raw.reply_type, is_active=raw.is_active)
    if raw.reply_type == ReplyType.TEXT:
        if not text:
            errors.append(f"rule {n}: the reply text is empty")
        elif len(text) > 2000:
            errors.append(f"rule {n}: the reply text is at most 2000 characters")
        clean.text = text
    elif raw.reply_type == ReplyType.IMAGE:
        if raw.image_upload is not None:
            problem = _image_problem(raw.image_upload)
            if problem:
                errors.append(f"rule {n}: {problem}")
            clean.image_upload = raw.image_upload
        elif raw.keep_image_of_rule is not None:
            old = (
                KeywordRule.objects.filter(shop=shop, pk=raw.keep_image_of_rule)
                .exclude(image="")
                .first()
            )
            if old is None:
                errors.append(f"rule {n}: the image to keep was not found")
            else:
                clean.image_name = old.image.name
        else:
            errors.append(f"rule {n}: upload an image")
    else:
        code = raw.coupon_code.strip()
        if not COUPON_CODE.match(code):
            errors.append(f"rule {n}: a coupon code is 1-40 letters, digits, - or _")
        try:
            clean.coupon_value = _decimal(raw.coupon_value, "the coupon value", n)
            clean.coupon_min_spend = _decimal(raw.coupon_min_spend, "the minimum spend", n)
        except ValidationError as exc:
            errors.extend(exc.messages)
        if clean.coupon_value is None and len(errors) == start:
            errors.append(f"rule {n}: the coupon needs a value")
        currency = (raw.coupon_currency or shop.currency).strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            errors.append(f"rule {n}: the currency is a 3-letter code such as USD")
        if raw.coupon_valid_until is None:
            errors.append(f"rule {n}: the coupon needs a last valid day")
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
            f"a keyword set needs {MIN_ACTIVE_RULES} to {MAX_ACTIVE_RULES} active rules; "
            f"this one has {len(active)}",
        )
    if len(rules) > 30:
        errors.append("keep at most 30 rules in a set, active or not")
    seen: dict[str, int] = {}
    for n, raw in enumerate(rules, start=1):
        key = fold_keyword(raw.keyword)
        if raw.is_active and key:
            if key in seen:
                errors.append(f"rule {n}: the same keyword as rule {seen[key]}")
            seen.setdefault(key, n)
    return cleaned, errors


def _preview_reply(rule: KeywordRuleInput) -> str:
    if rule.reply_type == ReplyType.IMAGE:
        name = rule.image_upload.name if rule.image_upload is not None else "kept image"
        return f"[image: {name}]"
    if rule.reply_type == ReplyType.COUPON:
        return f"[coupon {rule.coupon_code.strip()}: {rule.coupon_value} {rule.coupon_currency}]"
    return rule.text.strip()


def preview_keyword_rules(
    *, shop: Shop, rules: list[KeywordRuleInput], samples: list[str]
) -> KeywordPreview:
    """How an unsaved set would answer sample buyer messages. Writes nothing."""
    _cleaned, errors = _clean_rule_set(shop, rules)
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
                reply=_preview_reply(rule),
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
    shop = _shop(actor)
    cleaned, errors = _clean_rule_set(shop, rules)
    if errors:
        raise ValidationError(errors)
    _guard_saved(
        actor=actor,
        texts=[
            (f"rule {n} ({r.keyword})", r.text)
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
                "the keyword set was changed by someone else; reload and try again",
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
            if clean.image_upload is not None:
                rule.image.save(clean.image_upload.name or "image", clean.image_upload, save=False)
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


# ================================================================== scripts (R-10..R-12)


@dataclass
class ScriptInput:
    stage: str
    topic: str
    title: str
    variants: dict[str, str]  # language -> body
    examples: str = ""
    order_states: list[str] = field(default_factory=list)


def _bump_scripts_version(shop: Shop) -> None:
    _settings_for_update(shop)
    AutomationSettings.objects.filter(shop=shop).update(
        scripts_version=F("scripts_version") + 1, updated_at=timezone.now()
    )


def _check_script(data: ScriptInput) -> None:
    problems: list[str] = []
    if data.stage not in ScriptStage.values:
        problems.append("stage must be pre_sale, in_sale or after_sale")
    if not data.topic.strip() or len(data.topic.strip()) > 60:
        problems.append("a topic is 1-60 characters")
    if not data.title.strip() or len(data.title.strip()) > 160:
        problems.append("a title is 1-160 characters")
    if len(data.examples) > 8000:
        problems.append("examples are at most 8000 characters")
    bodies = {lang: body.strip() for lang, body in data.variants.items() if body.strip()}
    if not bodies:
        problems.append("a script needs the text of at least one language")
    for lang, body in bodies.items():
        if lang not in ScriptLanguage.values:
            problems.append(f"unknown language {lang!r}")
            continue
        if len(body) > 4000:
            problems.append(f"the {lang} text is at most 4000 characters")
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
    shop = _shop(actor)
    _check_script(data)
    _guard_saved(actor=actor, texts=list(data.variants.items()), source="script")
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
    shop = _shop(actor)
    if script.shop_id != shop.pk:
        raise ValidationError("not a script of your shop", code="shop")
    _check_script(data)
    _guard_saved(actor=actor, texts=list(data.variants.items()), source="script")
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
    shop = _shop(actor)
    if script.shop_id != shop.pk:
        raise ValidationError("not a script of your shop", code="shop")
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


# ================================================================== quick replies


def _check_quick_reply(title: str, body: str, language: str) -> None:
    if not title.strip() or len(title.strip()) > 80:
        raise ValidationError("a title is 1-80 characters", code="title")
    if not body.strip() or len(body.strip()) > 4000:
        raise ValidationError("a quick reply is 1-4000 characters", code="body")
    if language and language not in ScriptLanguage.values:
        raise ValidationError("unknown language", code="language")
    check_template(body)


def create_quick_reply(*, actor: User, title: str, body: str, language: str = "") -> QuickReply:
    shop = shop_of(actor)
    _check_quick_reply(title, body, language)
    _guard_saved(actor=actor, texts=[(title, body)], source="quick_reply")
    return QuickReply.objects.create(
        shop=shop, owner=actor, title=title.strip(), body=body.strip(), language=language
    )


def update_quick_reply(
    *, actor: User, reply: QuickReply, title: str, body: str, language: str = ""
) -> QuickReply:
    if reply.owner_id != actor.pk:
        raise ValidationError("quick replies are personal", code="owner")
    _check_quick_reply(title, body, language)
    _guard_saved(actor=actor, texts=[(title, body)], source="quick_reply")
    reply.title, reply.body, reply.language = title.strip(), body.strip(), language
    reply.save()
    return reply


def delete_quick_reply(*, actor: User, reply: QuickReply) -> None:
    if reply.owner_id != actor.pk:
        raise ValidationError("quick replies are personal", code="owner")
    reply.delete()
