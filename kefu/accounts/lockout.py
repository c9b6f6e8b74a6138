"""Password-guessing lockout: per login and, with a higher threshold, per client address.

An office behind one NAT shares an address, so one person's typos must not lock the others:
a login locks after `KEFU_LOGIN_ACCOUNT_FAILURES` failures whatever address they came from,
an address after `KEFU_LOGIN_IP_FAILURES` failures whatever logins they named (a spray).
While locked, even the right password is refused. API tokens never pass through here.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from kefu.accounts.models import User
from kefu.core.clientip import client_ip
from kefu.core.ratelimit import count_failure, forget_failures, locked_for

log = logging.getLogger("kefu.accounts.lockout")

ACCOUNT = "login-account"
ADDRESS = "login-ip"


def _login_key(username: str) -> str:
    # Logins are stored lower-case; "Owner" and "owner" are one account to lock.
    return username.strip().lower()


def login_locked_for(request: HttpRequest | None, username: str) -> int | None:
    """Seconds until this login may be tried again from this request's address, or None."""
    if not settings.KEFU_LOGIN_LOCKOUT:
        return None
    waits = [locked_for(ACCOUNT, _login_key(username))]
    if request is not None:
        waits.append(locked_for(ADDRESS, client_ip(request)))
    known = [w for w in waits if w is not None]
    return max(known) if known else None


def _failed(request: HttpRequest | None, username: str) -> None:
    cooloff = settings.KEFU_LOGIN_COOLOFF_SECONDS
    ip = client_ip(request) if request is not None else "-"
    if count_failure(
        ACCOUNT,
        _login_key(username),
        threshold=settings.KEFU_LOGIN_ACCOUNT_FAILURES,
        cooloff=cooloff,
    ):
        log.warning("login_locked kind=account login=%s ip=%s", _login_key(username)[:60], ip)
    if request is not None and count_failure(
        ADDRESS, ip, threshold=settings.KEFU_LOGIN_IP_FAILURES, cooloff=cooloff
    ):
        log.warning("login_locked kind=ip ip=%s", ip)


class LockoutModelBackend(ModelBackend):
    """Django's password check behind the lockout. Raising `PermissionDenied` makes
    `authenticate()` stop and report a failed login, as a wrong password would."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or not settings.KEFU_LOGIN_LOCKOUT:
            return super().authenticate(request, username=username, password=password, **kwargs)
        if login_locked_for(request, username) is not None:
            raise PermissionDenied("login temporarily locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            _failed(request, username)
        else:
            forget_failures(ACCOUNT, _login_key(username))
        return user
