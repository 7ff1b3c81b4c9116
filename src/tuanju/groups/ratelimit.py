"""A small fixed-window rate limiter on Django's cache, for the public (no login) H5 endpoints.

    decision = hit("join-ip", client_ip(request), Limit.parse("30/10m"))
    if not decision.allowed: ...  # answer 429 with decision.retry_after

Each (scope, key, window) is one cache counter created with ``add`` and bumped with ``incr``,
both atomic on Redis and memcached; the local-memory cache of a single process is atomic too.
Keys are HMACs, so no phone number or address is stored in the cache in clear.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_LIMITS = {
    # Many phones can share one address (a venue's Wi-Fi, a carrier's NAT): generous per IP.
    "h5-view-ip": "300/10m",
    "join-ip": "30/10m",
    # One phone number submitting again and again is someone trying numbers or a stuck client.
    "join-phone": "5/1h",
}


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """'30/10m' → 30 hits per 600 seconds ('5/h', '100/30s', '1000/1d' too)."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*", text or "")
        if not match:
            raise ValueError(f"bad rate limit {text!r}; write it like '30/10m'")
        count, amount, unit = int(match[1]), int(match[2] or 1), match[3]
        return cls(count, amount * UNITS[unit])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: Limit
    retry_after: int

    @property
    def retry_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def configured(scope: str) -> Limit:
    limits = getattr(settings, "TUANJU", {}).get("H5_RATE_LIMITS", {})
    return Limit.parse(limits.get(scope, DEFAULT_LIMITS[scope]))


def _cache_key(scope: str, key: str, window: int) -> str:
    digest = salted_hmac("tuanju.groups.ratelimit", f"{scope}|{key}").hexdigest()[:24]
    return f"rl:{scope}:{digest}:{window}"


def hit(scope: str, key: str, limit: Limit | None = None, *, now: float | None = None) -> Decision:
    """Count one attempt of ``key`` in ``scope``; ``allowed`` is false once the window is full."""
    limit = limit or configured(scope)
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    cache_key = _cache_key(scope, key, window)
    retry_after = max(1, int(limit.seconds - (now % limit.seconds)))
    if cache.add(cache_key, 1, timeout=limit.seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=limit.seconds + 1)
            count = 1
    return Decision(count <= limit.count, count, limit, retry_after)


def client_ip(request) -> str:
    """The caller's address; X-Forwarded-For counts only behind a trusted proxy (BEHIND_PROXY)."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
