"""Signed invite tokens for communities, and the short-lived receipt shown after a join.

An invite token is ``django.core.signing`` over ``{community, nonce, expiry, channel}``: it
cannot be forged or altered without SECRET_KEY, it stops working at its expiry, and rotating
the community's nonce (“reset the invite link”) revokes every token issued before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

INVITE_SALT = "tuanju.groups.invite"
RECEIPT_SALT = "tuanju.groups.join-receipt"
RECEIPT_MAX_AGE = 3600
#: Validity choices offered when staff make a link or a poster (days).
VALIDITY_CHOICES = (7, 30, 90, 180, 365)


class InviteInvalid(Exception):
    """The token is not one of ours (tampered with, truncated, or revoked)."""

    message = "二维码或邀请链接无效，请向群主索取新的二维码。"


class InviteExpired(InviteInvalid):
    message = "二维码或邀请链接已过期，请向群主索取新的二维码。"


@dataclass(frozen=True)
class Invite:
    community_id: int
    nonce: str
    expires: int
    channel: str  # "qr" or "link"

    @property
    def days_left(self) -> int:
        return max(0, int((self.expires - time.time()) // 86400))


def default_days() -> int:
    return int(getattr(settings, "TUANJU", {}).get("INVITE_DAYS", 30))


def make_invite(
    community, *, days: int | None = None, channel: str = "link", now: float | None = None
) -> str:
    days = days or default_days()
    now = time.time() if now is None else now
    payload = {"c": community.pk, "n": community.invite_nonce, "e": int(now + days * 86400), "k": channel}
    return signing.dumps(payload, salt=INVITE_SALT)


def read_invite(token: str, *, now: float | None = None) -> Invite:
    """The invite in ``token``; raises InviteInvalid / InviteExpired. Revocation is checked by the caller."""
    try:
        payload = signing.loads(token or "", salt=INVITE_SALT)
        invite = Invite(
            int(payload["c"]), str(payload["n"]), int(payload["e"]), str(payload.get("k", "link"))
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InviteInvalid from exc
    if (time.time() if now is None else now) > invite.expires:
        raise InviteExpired
    return invite


def make_receipt(member) -> str:
    return signing.dumps({"m": member.pk}, salt=RECEIPT_SALT)


def read_receipt(token: str) -> int | None:
    try:
        return int(signing.loads(token or "", salt=RECEIPT_SALT, max_age=RECEIPT_MAX_AGE)["m"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
