"""A per-device identifier for the public H5 pages: a random id in a signed, HTTP-only cookie.

Used to stop double check-ins and (in surveys) a second answer from the same phone. It is not a
tracking id: it is never shown, never joined with personal data, and only its HMAC is stored.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

COOKIE = "tj_dev"
SALT = "tuanju.device"
MAX_AGE = 2 * 365 * 86400


def device_id(request) -> tuple[str, bool]:
    """(id, is_new): the device id from the signed cookie, or a fresh one to set."""
    try:
        value = request.get_signed_cookie(COOKIE, salt=SALT, max_age=MAX_AGE)
    except (KeyError, signing.BadSignature):
        value = None
    if value and len(value) >= 16:
        return value, False
    return secrets.token_urlsafe(18), True


def remember(response, value: str) -> None:
    response.set_signed_cookie(
        COOKIE,
        value,
        salt=SALT,
        max_age=MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=getattr(settings, "SESSION_COOKIE_SECURE", False),
    )


def key(value: str, scope: str) -> str:
    """A stable, non-reversible key of this device within ``scope`` (e.g. a station or a survey)."""
    return salted_hmac("tuanju.device.key", f"{scope}|{value}").hexdigest()[:32]
