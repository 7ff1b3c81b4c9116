"""Per-channel rate limits shared by every worker (``CHANNELS[name]["rate"]``, e.g. "2000/1s").

A fixed window counter in Django's cache (Redis in production, so all machines share it).
Each thread reserves a block of sends at once (one ``incr`` per block, not per message) and
waits for the next window when the channel's budget for this one is spent.
"""

from __future__ import annotations

import threading
import time

from django.core.cache import cache

from tuanju.groups.ratelimit import Limit

from .. import conf

BLOCK = 10
_local = threading.local()


def _limit(channel: str) -> Limit | None:
    text = conf.channel(channel).get("rate")
    return Limit.parse(text) if text else None


def acquire(channel: str, *, sleep=time.sleep, now=time.time) -> float:
    """Take one send of ``channel``'s budget, waiting if needed; returns the seconds waited."""
    limit = _limit(channel)
    if limit is None:
        return 0.0
    waited = 0.0
    buckets = getattr(_local, "buckets", None)
    if buckets is None:
        buckets = _local.buckets = {}
    while True:
        current = now()
        window = int(current // limit.seconds)
        held_window, held = buckets.get(channel, (None, 0))
        if held_window == window and held > 0:
            buckets[channel] = (window, held - 1)
            return waited
        block = min(BLOCK, limit.count)
        key = f"mob:rate:{channel}:{window}"
        if cache.add(key, block, timeout=limit.seconds + 2):
            used = block
        else:
            try:
                used = cache.incr(key, block)
            except ValueError:
                cache.set(key, block, timeout=limit.seconds + 2)
                used = block
        granted = min(block, limit.count - (used - block))
        if granted > 0:
            buckets[channel] = (window, granted - 1)
            return waited
        pause = (window + 1) * limit.seconds - current + 0.001
        sleep(pause)
        waited += pause
