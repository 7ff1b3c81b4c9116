"""A fixed-window rate limiter on Django's cache for the public H5 endpoints of appeals and surveys.

    decision = hit("appeal-ip", client_ip(request))
    if not decision.allowed: ...  # 429 with Retry-After

Limits are "count/period" strings (``30/10m``, ``5/1d``), overridable per scope in
``TUANJU["H5_RATE_LIMITS"]``. Cache keys are HMACs, so no address or phone number is kept in clear.
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
    "h5-view-ip": "300/10m",
    # filing an appeal: a phone may file a few, an address (shared Wi-Fi, carrier NAT) more
    "appeal-ip": "10/10m",
    "appeal-phone": "5/1d",
    "rate-ip": "20/10m",
    "checkin-ip": "60/10m",
    "survey-ip": "30/10m",
    "survey-submit-ip": "20/10m",
}


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*", text or "")
        if not match:
            raise ValueError(f"bad rate limit {text!r}; write it like '30/10m'")
        return cls(int(match[1]), int(match[2] or 1) * UNITS[match[3]])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int

    @property
    def retry_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def configured(scope: str) -> Limit:
    overrides = getattr(settings, "TUANJU", {}).get("H5_RATE_LIMITS", {})
    return Limit.parse(overrides.get(scope, DEFAULT_LIMITS[scope]))


def hit(scope: str, key: str, limit: Limit | None = None, *, now: float | None = None) -> Decision:
    """Count one attempt of ``key`` in ``scope``; ``allowed`` is false once the window is full."""
    limit = limit or configured(scope)
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    digest = salted_hmac("tuanju.appeals.ratelimit", f"{scope}|{key}").hexdigest()[:24]
    cache_key = f"rl:{scope}:{digest}:{window}"
    if cache.add(cache_key, 1, timeout=limit.seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=limit.seconds + 1)
            count = 1
    return Decision(count <= limit.count, count, max(1, int(limit.seconds - now % limit.seconds)))


def client_ip(request) -> str:
    """The caller's address; X-Forwarded-For counts only behind a trusted proxy (BEHIND_PROXY)."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
