"""Personal API tokens: created for one login, expiring, listed and revoked.

Only a token's SHA-256 is stored; the raw value is shown once, when it is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import ApiToken, User
from kefu.accounts.scoping import shop_of

DEFAULT_DAYS = 90
MAX_DAYS = 365
# Recording every use would be a write per API call at a peak; within this interval the
# recorded time is close enough for "is this token still used?".
LAST_USED_PRECISION = dt.timedelta(minutes=5)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(*, user: User, name: str, days: int = DEFAULT_DAYS) -> tuple[ApiToken, str]:
    """A new token for `user`, valid `days` days (1-365); returns it and its raw value."""
    if user.shop_id is None:
        raise ValidationError(_("tokens belong to a shop login"), code="no_shop")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            _("A token lasts 1 to %(max)d days.") % {"max": MAX_DAYS}, code="days"
        )
    raw = "kefu_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        shop_id=user.shop_id,
        user=user,
        name=name.strip()[:60] or "api",
        digest=token_digest(raw),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    return token, raw


def tokens_visible_to(actor: User) -> QuerySet[ApiToken]:
    """The main account sees every token of the shop; a sub-account its own."""
    tokens = ApiToken.objects.filter(shop=shop_of(actor)).select_related("user")
    if not actor.is_owner:
        tokens = tokens.filter(user=actor)
    return tokens.order_by("-created_at", "-pk")


def access_token(actor: User, token_id: int) -> ApiToken:
    try:
        return tokens_visible_to(actor).get(pk=token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404("no such token") from exc


def revoke_api_token(*, token: ApiToken) -> ApiToken:
    """Revoke `token` (reached through `access_token` or by the command line); idempotent."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def user_for_token(raw: str) -> User | None:
    """The active login a live (not revoked, not expired) token belongs to."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user", "user__shop")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)
    return token.user
