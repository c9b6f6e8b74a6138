"""Every write about shops and logins."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from kefu.accounts.models import Platform, Role, ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, require

LOGIN_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_.-@:")


@dataclass(frozen=True)
class CreatedShop:
    shop: Shop
    owner: User
    password: str


def _check_login(login: str) -> str:
    login = login.strip().lower()
    if not login or len(login) > 60 or not set(login) <= LOGIN_CHARS:
        raise ValidationError(
            _("a login is 1-60 characters of a-z, 0-9 and . _ - @ :"), code="bad_login"
        )
    if User.objects.filter(username=login).exists():
        raise ValidationError(
            _("the login %(login)r is taken") % {"login": login}, code="login_taken"
        )
    return login


def _check_password(password: str, user: User | None = None) -> None:
    validate_password(password, user)


def parse_groups(value: str | list[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    groups = [g.strip() for g in items if g.strip()]
    valid = {g.value for g in ServiceGroup}
    unknown = [g for g in groups if g not in valid]
    if unknown or not groups:
        raise ValidationError(
            f"groups must be one or more of {', '.join(sorted(valid))}; got {value!r}",
            code="bad_groups",
        )
    return groups


def create_shop(
    *,
    name: str,
    platform: str,
    timezone_name: str = "Asia/Shanghai",
    currency: str = "USD",
    slug: str | None = None,
    owner_login: str | None = None,
    owner_password: str | None = None,
) -> CreatedShop:
    name = name.strip()
    if not name:
        raise ValidationError(_("a shop needs a name"), code="no_name")
    if platform not in Platform.values:
        raise ValidationError(
            f"platform must be one of {', '.join(Platform.values)}", code="bad_platform"
        )
    currency = currency.strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError(
            _("currency is a 3-letter ISO code such as USD or CNY"), code="currency"
        )
    base = slugify(slug or name) or "shop"
    candidate, n = base, 1
    while Shop.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    if slug and candidate != slugify(slug):
        raise ValidationError(
            _("the shop slug %(slug)r is taken") % {"slug": slug}, code="slug_taken"
        )
    password = owner_password or secrets.token_urlsafe(12)
    with transaction.atomic():
        shop = Shop(
            name=name, slug=candidate, platform=platform, timezone=timezone_name, currency=currency
        )
        shop.full_clean()
        shop.save()
        login = _check_login(owner_login or f"{candidate}-owner")
        owner = User(
            username=login,
            shop=shop,
            role=Role.OWNER,
            display_name=name,
            in_pre_sale=True,
            in_after_sale=True,
            in_outreach=True,
            takes_new_chats=False,
        )
        _check_password(password, owner)
        owner.set_password(password)
        owner.save()
    return CreatedShop(shop=shop, owner=owner, password=password)


def _limit_within(granted: Decimal | None, own: Decimal | None) -> bool:
    """Whether a refund limit (None: no limit) is no more than the granter's own."""
    if own is None:
        return True
    return granted is not None and granted <= own


def _check_above(actor: User, agent: User) -> None:
    """A granted sub-account manages only accounts whose rights are within its own: it may
    not strip, edit or disable someone it could not have created (the owner may)."""
    if actor.is_owner:
        return
    beyond = (
        (agent.can_issue_refunds and not actor.can_issue_refunds)
        or (agent.can_create_campaigns and not actor.can_create_campaigns)
        or (agent.can_manage_settings and not actor.can_manage_settings)
        or (agent.can_issue_refunds and not _limit_within(agent.refund_limit, actor.refund_limit))
    )
    if beyond:
        raise PermissionDenied("this account has rights beyond yours: the main account manages it")


def create_agent(
    *,
    actor: User | None,
    shop: Shop,
    login: str,
    groups: list[str],
    password: str | None = None,
    display_name: str = "",
    can_manage_settings: bool = False,
    can_issue_refunds: bool = False,
    refund_limit: Decimal | None = None,
    can_create_campaigns: bool = False,
) -> tuple[User, str]:
    """Create a sub-account. `actor` is None only for the CLI run by the operator."""
    if actor is not None:
        require(actor, Capability.MANAGE_AGENTS)
        if actor.shop_id != shop.pk:
            raise ValidationError(_("not your shop"), code="other_shop")
        # A granted sub-account may not hand out rights it lacks itself.
        if not actor.is_owner and (
            can_issue_refunds or can_create_campaigns or can_manage_settings
        ):
            require(actor, Capability.MANAGE_SETTINGS)
            if can_issue_refunds and not actor.can_issue_refunds:
                raise ValidationError(_("only the owner grants refund rights"), code="grant")
            if can_create_campaigns and not actor.can_create_campaigns:
                raise ValidationError(_("only the owner grants campaign rights"), code="grant")
            if can_issue_refunds and not _limit_within(refund_limit, actor.refund_limit):
                raise ValidationError(
                    _("you may grant refunds up to your own limit of %(limit)s")
                    % {"limit": actor.refund_limit},
                    code="grant",
                )
    group_list = parse_groups(groups)
    chosen = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        user = User(
            username=_check_login(login),
            shop=shop,
            role=Role.AGENT,
            display_name=display_name.strip()[:60],
            in_pre_sale=ServiceGroup.PRE_SALE in group_list,
            in_after_sale=ServiceGroup.AFTER_SALE in group_list,
            in_outreach=ServiceGroup.OUTREACH in group_list,
            can_manage_settings=can_manage_settings,
            can_issue_refunds=can_issue_refunds,
            refund_limit=refund_limit,
            can_create_campaigns=can_create_campaigns,
        )
        _check_password(chosen, user)
        user.set_password(chosen)
        user.save()
    return user, chosen


def update_agent(
    *,
    actor: User,
    agent: User,
    groups: list[str],
    display_name: str,
    can_manage_settings: bool,
    can_issue_refunds: bool,
    can_create_campaigns: bool,
    refund_limit: Decimal | None = None,
) -> User:
    require(actor, Capability.MANAGE_AGENTS)
    if agent.shop_id != actor.shop_id or agent.is_owner:
        raise ValidationError(_("this account cannot be edited here"), code="not_editable")
    _check_above(actor, agent)
    if not actor.is_owner and (can_issue_refunds or can_create_campaigns or can_manage_settings):
        raise ValidationError(_("only the owner grants rights"), code="grant")
    group_list = parse_groups(groups)
    agent.in_pre_sale = ServiceGroup.PRE_SALE in group_list
    agent.in_after_sale = ServiceGroup.AFTER_SALE in group_list
    agent.in_outreach = ServiceGroup.OUTREACH in group_list
    agent.display_name = display_name.strip()[:60]
    agent.can_manage_settings = can_manage_settings
    agent.can_issue_refunds = can_issue_refunds
    agent.can_create_campaigns = can_create_campaigns
    agent.refund_limit = refund_limit
    agent.save()
    return agent


def set_account_active(*, actor: User | None, agent: User, active: bool) -> User:
    """Disable or re-enable a sub-account. Call inside a transaction with what must follow
    (``kefu.desk.team`` reroutes a disabled agent's conversations)."""
    if actor is not None:
        require(actor, Capability.MANAGE_AGENTS)
        if agent.shop_id != actor.shop_id:
            raise ValidationError(_("not your shop"), code="other_shop")
        if not agent.is_owner:
            _check_above(actor, agent)
    if agent.is_owner:
        raise ValidationError(_("the main account cannot be disabled"), code="owner")
    agent.is_active = active
    agent.save(update_fields=["is_active"])
    return agent


def update_shop_settings(
    *,
    actor: User,
    name: str,
    timezone_name: str,
    currency: str,
    callback_url: str,
    sign_replies: bool,
    signature_template: str,
) -> Shop:
    require(actor, Capability.MANAGE_SETTINGS)
    shop = actor.shop
    assert shop is not None  # noqa: S101 - require() guarantees a shop
    if "{agent_name}" not in signature_template and sign_replies:
        raise ValidationError("the signature must contain {agent_name}", code="signature")
    shop.name = name.strip()
    shop.timezone = timezone_name
    shop.currency = currency.strip().upper()
    shop.callback_url = callback_url.strip()
    shop.sign_replies = sign_replies
    shop.signature_template = signature_template.strip()
    shop.full_clean()
    shop.save()
    return shop


@dataclass(frozen=True)
class RateLimits:
    """A shop's rate limits; None leaves one as it is."""

    intake_per_minute: int | None = None
    intake_per_buyer_per_minute: int | None = None
    widget_messages_per_minute: int | None = None
    widget_chats_per_hour: int | None = None


def set_rate_limits(*, actor: User, limits: RateLimits) -> Shop:
    """Change the shop's rate limits; a value out of range changes nothing (ValidationError)."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = actor.shop
    assert shop is not None  # noqa: S101 - require() guarantees a shop
    fields = [f for f in vars(limits) if getattr(limits, f) is not None]
    for field in fields:
        value = getattr(limits, field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                _("%(field)s must be a whole number") % {"field": field}, code="rate_limit"
            )
        setattr(shop, field, value)
    try:
        shop.full_clean()
    except ValidationError as exc:
        shop.refresh_from_db()
        raise ValidationError(
            [f"{field}: {'; '.join(errors)}" for field, errors in exc.message_dict.items()],
            code="rate_limit",
        ) from exc
    shop.save(update_fields=fields)
    return shop


def set_intake_mode(*, actor: User, synchronous: bool) -> Shop:
    """Queue marketplace messages and answer 202 (the default), or store and route each one
    before answering 201 with the routing (low volume, or a connector that reads it)."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = actor.shop
    assert shop is not None  # noqa: S101 - require() guarantees a shop
    shop.intake_synchronous = synchronous
    shop.save(update_fields=["intake_synchronous"])
    return shop


def record_callback_ping(*, shop: Shop, url: str, answered_at: datetime) -> Shop:
    """The callback at `url` answered a signed test ping 2xx at `answered_at`."""
    shop.callback_ping_at = answered_at
    shop.callback_ping_url = url
    shop.save(update_fields=["callback_ping_at", "callback_ping_url"])
    return shop


def rotate_webhook_secret(*, actor: User) -> Shop:
    require(actor, Capability.MANAGE_SETTINGS)
    shop = actor.shop
    assert shop is not None  # noqa: S101
    shop.webhook_secret = secrets.token_hex(32)
    shop.save(update_fields=["webhook_secret"])
    return shop


def set_interface_language(*, user: User, language: str) -> None:
    if language not in {"zh-hans", "en"}:
        raise ValidationError(_("language must be zh-hans or en"), code="language")
    user.language = language
    user.save(update_fields=["language"])
