"""The phone's own list of its registrations: a signed, HTTP-only cookie of (registration id,
ticket nonce) pairs, so that the activity page knows "you have registered", the check-in page
can offer a one-tap check-in, and "my activities" lists the tickets — without an account.

It holds no personal data; a revoked ticket (nonce rotated) drops out by itself.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from .models import Registration

COOKIE = "tj_acts"
SALT = "tuanju.activities.wallet"
MAX_AGE = 400 * 86400
MAX_ENTRIES = 20


def entries(request) -> list[tuple[int, str]]:
    try:
        value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=MAX_AGE)
    except (KeyError, signing.BadSignature):
        return []
    found = []
    for item in value.split(","):
        pk, _sep, nonce = item.partition(":")
        if pk.isdigit() and nonce:
            found.append((int(pk), nonce))
    return found[:MAX_ENTRIES]


def registrations(request, **filters):
    pairs = dict(entries(request))
    if not pairs:
        return []
    regs = Registration.objects.filter(pk__in=list(pairs), **filters).select_related("activity", "person")
    return [r for r in regs if pairs.get(r.pk) == r.ticket_nonce]


def for_activity(request, activity) -> Registration | None:
    regs = registrations(request, activity=activity)
    return regs[0] if regs else None


def remember(request, response, registration) -> None:
    pairs = [(pk, nonce) for pk, nonce in entries(request) if pk != registration.pk]
    pairs.insert(0, (registration.pk, registration.ticket_nonce))
    value = ",".join(f"{pk}:{nonce}" for pk, nonce in pairs[:MAX_ENTRIES])
    response.set_signed_cookie(
        COOKIE,
        value,
        salt=SALT,
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
    )
