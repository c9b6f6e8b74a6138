"""Who the client is: the one answer login lockouts, rate limits and logs all use.

`X-Forwarded-For` and `X-Real-IP` are anyone's to write, so they count only when the
connecting peer is one of `KEFU_TRUSTED_PROXIES`; otherwise an attacker rotating the header
would be a new client on every request.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def trusted_networks() -> tuple[Network, ...]:
    """`KEFU_TRUSTED_PROXIES` parsed; a bad entry stops the process at its first request."""
    return _networks(tuple(settings.KEFU_TRUSTED_PROXIES))


def _parse(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:5123"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == net.version and ip in net for net in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer itself, or, when the peer is a trusted proxy, the
    nearest address in `X-Forwarded-For` (read right to left) that is not a trusted proxy
    itself, else `X-Real-IP`."""
    peer = _parse(str(request.META.get("REMOTE_ADDR", ""))) or "0.0.0.0"  # noqa: S104
    networks = trusted_networks()
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        hops = [_parse(h) for h in str(forwarded).split(",")]
        for hop in reversed(hops):
            if hop is None:
                # Garbage in the chain: what lies left of it cannot be trusted either.
                break
            if not _trusted(hop, networks):
                return hop
        else:
            first = hops[0] if hops else None
            return first or peer
        return peer
    real = _parse(str(request.META.get("HTTP_X_REAL_IP", "")))
    return real or peer
