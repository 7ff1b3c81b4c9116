"""Rate limits of the public activity pages, on the groups app's fixed-window limiter."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from tuanju.groups import ratelimit

from .conf import RATE_LIMITS

client_ip = ratelimit.client_ip


def hit(scope: str, key: str) -> ratelimit.Decision:
    configured = getattr(settings, "TUANJU", {}).get("H5_RATE_LIMITS", {})
    return ratelimit.hit(scope, key, ratelimit.Limit.parse(configured.get(scope, RATE_LIMITS[scope])))


def limited(request, decision):
    response = render(request, "groups/h5/limited.html", {"minutes": decision.retry_minutes}, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response
