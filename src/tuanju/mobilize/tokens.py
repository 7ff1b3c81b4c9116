"""The signed links of a directive: one per person (``/h5/d/<token>/``) and one per group
(``/h5/d/g/<token>/``, posted by the robot or relayed by the liaison).

A token is ``base36(id) "." base64url(HMAC-SHA256(SECRET_KEY, salt, id))[:16]`` — short enough
for a text message, impossible to forge or to walk (96 bits of signature), checked without a
database query. It does not expire: the directive's status decides what the page allows.
"""

from __future__ import annotations

import base64
import hmac

from django.utils.crypto import salted_hmac

RECEIPT_SALT = "tuanju.mobilize.receipt"
GROUP_SALT = "tuanju.mobilize.group"
SIG_CHARS = 16
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    if n <= 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


def _sig(salt: str, text: str) -> str:
    digest = salted_hmac(salt, text, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIG_CHARS]


def _make(salt: str, pk: int) -> str:
    text = _b36(pk)
    return f"{text}.{_sig(salt, text)}"


def _read(salt: str, token: str) -> int | None:
    text, _dot, sig = (token or "").partition(".")
    if not text or len(text) > 13 or len(sig) != SIG_CHARS:
        return None
    if not hmac.compare_digest(sig, _sig(salt, text)):
        return None
    try:
        return int(text, 36)
    except ValueError:
        return None


def receipt_token(receipt_id: int) -> str:
    return _make(RECEIPT_SALT, receipt_id)


def read_receipt_token(token: str) -> int | None:
    """The receipt id in a personal link's token, or None when it is not one of ours."""
    return _read(RECEIPT_SALT, token)


def group_token(delivery_id: int) -> str:
    return _make(GROUP_SALT, delivery_id)


def read_group_token(token: str) -> int | None:
    return _read(GROUP_SALT, token)
