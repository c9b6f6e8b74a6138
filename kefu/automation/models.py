"""Automatic replies, keyword rules, business hours, reply scripts and their measurement.

R-07 welcome and out-of-hours replies, R-08 keyword replies, R-10..R-13 scripts and
suggestions, R-09/R-14 measurement. Every row carries its shop.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Shop
from kefu.conversations.models import Buyer, Conversation, Message

KEYWORD_MAX_CHARS = 300
MIN_ACTIVE_RULES = 3
MAX_ACTIVE_RULES = 9


class ScriptLanguage(models.TextChoices):
    EN = "en", "English"
    RU = "ru", "Русский"
    ES = "es", "Español"
    ZH_HANS = "zh-hans", "简体中文"


ALL_LANGUAGES = ",".join(ScriptLanguage.values)
# `TextChoices.values` builds a new list on every access; the intake batch asks per message.
_LANGUAGE_CODES = frozenset(ScriptLanguage.values)


def keyword_image_storage() -> Storage:
    """Uploaded keyword-reply images live in MEDIA_ROOT when one is configured, else in the
    data directory (the embedded default has no MEDIA_ROOT)."""
    if getattr(settings, "MEDIA_ROOT", ""):
        return default_storage
    return FileSystemStorage(location=settings.DATA_DIR / "media", base_url="/media/")


class AutomationSettings(models.Model):
    """The owner's switches for every automation of a shop (R-09: visible and switchable)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="automation")
    welcome_enabled = models.BooleanField(_("welcome reply on"), default=False)
    welcome_text = models.TextField(_("welcome text"), blank=True, max_length=2000)
    out_of_hours_enabled = models.BooleanField(_("out-of-hours reply on"), default=False)
    out_of_hours_text = models.TextField(_("out-of-hours text"), blank=True, max_length=2000)
    # {"ru": "...", "es": "..."}: the text for a buyer known to write that language; the
    # plain text above is for everyone else (cross-border buyers rarely read the shop's).
    welcome_translations = models.JSONField(default=dict, blank=True)
    out_of_hours_translations = models.JSONField(default=dict, blank=True)
    # An agent who answered this recently is still around: no out-of-hours reply then.
    agent_quiet_minutes = models.PositiveIntegerField(
        _("skip if an agent replied within (minutes)"), default=10
    )
    keyword_replies_enabled = models.BooleanField(_("keyword replies on"), default=True)
    suggestions_enabled = models.BooleanField(_("script suggestions on"), default=True)
    # The languages the shop serves; language detection chooses only among these.
    languages = models.CharField(max_length=60, default=ALL_LANGUAGES)
    # Bumped by every script write: suggestion indexes cached in any process compare it.
    scripts_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"automation settings of shop {self.shop_id}"

    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code in _LANGUAGE_CODES]

    def welcome_for(self, language: str) -> str:
        return (self.welcome_translations.get(language) or self.welcome_text).strip()

    def out_of_hours_for(self, language: str) -> str:
        return (self.out_of_hours_translations.get(language) or self.out_of_hours_text).strip()


class BusinessHours(models.Model):
    """One opening interval on a weekday, in the shop's time zone; several per day allowed."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="business_hours")
    weekday = models.PositiveSmallIntegerField()  # 0 = Monday, as datetime.weekday()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="hours_weekday_range"
            ),
            models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="hours_order"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    """A whole day (shop-local) with nobody on duty."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="holidays")
    day = models.DateField()
    name = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["shop", "day"], name="holiday_per_shop_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class KeywordRuleSet(models.Model):
    """The live keyword set of a shop. Saving a set writes new rule rows under version+1."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="keyword_rule_set")
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"keyword set v{self.version} of shop {self.shop_id}"


class ReplyType(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    COUPON = "coupon", _("Coupon")


class KeywordRule(models.Model):
    """One keyword rule. Rules of older versions are kept: hits point at them."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="keyword_rules")
    version = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField()
    keyword = models.CharField(_("keyword"), max_length=KEYWORD_MAX_CHARS)
    is_active = models.BooleanField(default=True)
    reply_type = models.CharField(max_length=10, choices=ReplyType.choices)
    text = models.TextField(blank=True, max_length=2000)
    image = models.FileField(
        upload_to="keyword-replies/%Y/%m/", storage=keyword_image_storage, blank=True
    )
    coupon_code = models.CharField(max_length=40, blank=True)
    coupon_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    coupon_currency = models.CharField(max_length=3, blank=True)
    coupon_valid_until = models.DateField(null=True, blank=True)
    coupon_min_spend = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "position"]
        indexes = [models.Index(fields=["shop", "version"], name="kwrule_live")]
        constraints = [
            models.CheckConstraint(condition=~Q(keyword=""), name="kwrule_keyword_nonempty"),
            # Exactly one reply type per rule, enforced by the database too.
            models.CheckConstraint(
                condition=(
                    (Q(reply_type="text", image="", coupon_code="") & ~Q(text=""))
                    | (Q(reply_type="image", text="", coupon_code="") & ~Q(image=""))
                    | (
                        Q(reply_type="coupon", coupon_value__isnull=False, text="", image="")
                        & ~Q(coupon_code="")
                    )
                ),
                name="kwrule_one_reply_type",
            ),
        ]

    def __str__(self) -> str:
        return self.keyword


class ScriptStage(models.TextChoices):
    PRE_SALE = "pre_sale", _("Pre-sale 售前")
    IN_SALE = "in_sale", _("In-sale 售中")
    AFTER_SALE = "after_sale", _("After-sale 售后")


class Script(models.Model):
    """A reply script (话术): one situation, with a variant per language."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="scripts")
    key = models.SlugField(max_length=60, blank=True, help_text=_("Set for the default library."))
    stage = models.CharField(_("stage"), max_length=12, choices=ScriptStage.choices)
    topic = models.CharField(_("topic"), max_length=60)
    title = models.CharField(_("title"), max_length=160)
    # Buyer phrasings this script answers, one per line, any language: the retrieval text.
    examples = models.TextField(_("example buyer messages"), blank=True, max_length=8000)
    # Order/parcel states the script is written for, comma-separated (e.g. available_for_pickup).
    order_states = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["stage", "topic", "title"]
        indexes = [models.Index(fields=["shop", "stage", "topic"], name="script_browse")]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "key"], condition=~Q(key=""), name="script_key_per_shop"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def order_state_list(self) -> list[str]:
        return [s.strip() for s in self.order_states.split(",") if s.strip()]


class ScriptVariant(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="variants")
    language = models.CharField(max_length=10, choices=ScriptLanguage.choices)
    body = models.TextField(max_length=4000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["script_id", "language"]
        constraints = [
            models.UniqueConstraint(fields=["script", "language"], name="variant_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.script_id}/{self.language}"


class QuickReply(models.Model):
    """An agent's personal quick reply (快捷短语)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quick_replies"
    )
    title = models.CharField(max_length=80)
    body = models.TextField(max_length=4000)
    language = models.CharField(max_length=10, choices=ScriptLanguage.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class BuyerAutomationState(models.Model):
    """Per buyer: detected language and agent override (R-11), and auto-reply bookkeeping.

    Its row is locked while deciding auto-replies, so two messages of one buyer arriving
    together cannot both get the welcome.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    buyer = models.OneToOneField(Buyer, on_delete=models.CASCADE, related_name="automation_state")
    detected_language = models.CharField(max_length=10, blank=True)
    detected_confidence = models.FloatField(default=0.0)
    detection_samples = models.PositiveIntegerField(default=0)
    language_override = models.CharField(max_length=10, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_welcome_at = models.DateTimeField(null=True, blank=True)
    # Shop-local day of the last out-of-hours reply: at most one per buyer per day.
    out_of_hours_day = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"automation state of buyer {self.buyer_id}"

    @property
    def language(self) -> str:
        return self.language_override or self.detected_language


class HitKind(models.TextChoices):
    WELCOME = "welcome", _("Welcome reply 欢迎语")
    OUT_OF_HOURS = "out_of_hours", _("Out-of-hours reply 非工作时间回复")
    KEYWORD = "keyword", _("Keyword reply 关键词回复")
    SCRIPT = "script", _("Script use 话术")


class AutomationHit(models.Model):
    """One auto-reply sent or one script used, and what followed it (R-09, R-14)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=HitKind.choices)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="+")
    trigger_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reply_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        KeywordRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="hits"
    )
    keyword = models.CharField(max_length=KEYWORD_MAX_CHARS, blank=True)
    script = models.ForeignKey(
        Script, on_delete=models.SET_NULL, null=True, blank=True, related_name="uses"
    )
    language = models.CharField(max_length=10, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    suggested = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    buyer_replied_at = models.DateTimeField(null=True, blank=True)
    ordered_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["shop", "kind", "created_at"], name="hit_report"),
            models.Index(fields=["conversation", "created_at"], name="hit_followup"),
            models.Index(fields=["shop", "buyer", "created_at"], name="hit_buyer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} in conversation {self.conversation_id}"
