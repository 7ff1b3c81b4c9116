"""The cache-based fixed-window rate limiter of the public H5 endpoints."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from tuanju.groups import ratelimit
from tuanju.groups.ratelimit import Limit


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [
        ("30/10m", 30, 600),
        ("5/h", 5, 3600),
        ("5/1h", 5, 3600),
        ("100/30s", 100, 30),
        ("1000/1d", 1000, 86400),
    ],
)
def test_parse(text, count, seconds):
    assert Limit.parse(text) == Limit(count, seconds)


@pytest.mark.parametrize("text", ["", "30", "30/", "x/10m", "30/10w", "-1/1m"])
def test_parse_rejects_nonsense(text):
    with pytest.raises(ValueError):
        Limit.parse(text)


def test_counts_within_a_window_and_resets_in_the_next():
    limit = Limit(3, 60)
    start = 1_000_040.0  # 20 s into a minute
    decisions = [ratelimit.hit("t", "k", limit, now=start + i) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert decisions[-1].retry_after == 60 - 23 and decisions[-1].retry_minutes == 1
    assert ratelimit.hit("t", "k", limit, now=start + 40).allowed  # the next minute's window


def test_keys_and_scopes_are_independent_and_hashed():
    limit = Limit(1, 60)
    assert ratelimit.hit("join-phone", "13812345678", limit, now=0).allowed
    assert not ratelimit.hit("join-phone", "13812345678", limit, now=1).allowed
    assert ratelimit.hit("join-phone", "13900000000", limit, now=1).allowed
    assert ratelimit.hit("join-ip", "13812345678", limit, now=1).allowed
    keys = list(cache._cache.keys()) if hasattr(cache, "_cache") else []
    assert keys and not any("13812345678" in key for key in keys)


def test_configured_limits(settings):
    settings.TUANJU = {**settings.TUANJU, "H5_RATE_LIMITS": {"join-ip": "7/2m"}}
    assert ratelimit.configured("join-ip") == Limit(7, 120)
    assert ratelimit.configured("join-phone") == Limit.parse(ratelimit.DEFAULT_LIMITS["join-phone"])


def test_client_ip_trusts_forwarded_for_only_behind_a_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    settings.SECURE_PROXY_SSL_HEADER = None
    assert ratelimit.client_ip(request) == "10.1.1.1"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert ratelimit.client_ip(request) == "203.0.113.9"
