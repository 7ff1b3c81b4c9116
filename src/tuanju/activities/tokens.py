"""Signed tokens of the public activity pages (django.core.signing: unforgeable without SECRET_KEY).

* link token — the activity's registration link / QR code / group message. Carries the
  activity's ``link_nonce`` (rotating it revokes every link issued) and the channel it was made
  for (qr, link, group), which becomes the registration's source.
* ticket token — a participant's own page (status, their QR code, cancel, leave). Carries the
  registration's ``ticket_nonce``.
* scan token — what the participant's QR code holds: the staff check-in page of the
  registration. A different salt from the ticket, so a photo of the QR code does not open the
  ticket page (where the registration could be cancelled).
* rotating check-in token — the activity's check-in QR code on the organizer's screen: the
  activity, in or out, the period number (now // ROTATE seconds) and ``checkin_nonce``. Valid
  in its period and the next GRACE periods only: a photo of yesterday's (or of ten minutes ago)
  code does not work.
* check-in form token — issued when a fresh rotating token is opened, so that the person has
  FORM seconds to type a phone number before submitting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core import signing

from . import conf

LINK_SALT = "tuanju.activities.link"
TICKET_SALT = "tuanju.activities.ticket"
SCAN_SALT = "tuanju.activities.scan"
ROTATING_SALT = "tuanju.activities.checkin"
FORM_SALT = "tuanju.activities.checkin-form"


class TokenInvalid(Exception):
    """Tampered with, truncated, revoked or unknown."""

    message = "二维码或链接无效，请向活动组织方索取新的链接。"


class TokenExpired(TokenInvalid):
    message = "签到二维码已过期，请扫描现场屏幕上最新的签到码。"


def _load(token: str, salt: str, max_age=None) -> dict:
    try:
        payload = signing.loads(token or "", salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise TokenExpired from exc
    except signing.BadSignature as exc:
        raise TokenInvalid from exc
    if not isinstance(payload, dict):
        raise TokenInvalid
    return payload


# --- registration link ---------------------------------------------------------------------------


def link_token(activity, channel: str = "link") -> str:
    return signing.dumps(
        {"a": activity.pk, "n": activity.link_nonce, "k": channel}, salt=LINK_SALT, compress=True
    )


def read_link(token: str) -> tuple[int, str, str]:
    """(activity id, nonce, channel); the nonce is checked against the activity by the caller."""
    payload = _load(token, LINK_SALT)
    try:
        channel = str(payload.get("k", "link"))
        return int(payload["a"]), str(payload["n"]), channel if channel in ("qr", "link", "group") else "link"
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc


# --- participant ticket and its QR code ------------------------------------------------------------


def ticket_token(registration) -> str:
    return signing.dumps(
        {"r": registration.pk, "n": registration.ticket_nonce}, salt=TICKET_SALT, compress=True
    )


def scan_token(registration) -> str:
    return signing.dumps(
        {"r": registration.pk, "n": registration.ticket_nonce}, salt=SCAN_SALT, compress=True
    )


def _read_registration(token: str, salt: str) -> tuple[int, str]:
    payload = _load(token, salt)
    try:
        return int(payload["r"]), str(payload["n"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc


def read_ticket(token: str) -> tuple[int, str]:
    return _read_registration(token, TICKET_SALT)


def read_scan(token: str) -> tuple[int, str]:
    return _read_registration(token, SCAN_SALT)


# --- rotating check-in code ------------------------------------------------------------------------


def rotate_seconds() -> int:
    return max(5, int(conf.get("ACTIVITY_QR_ROTATE_SECONDS")))


def current_period(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // rotate_seconds())


def seconds_left(now: float | None = None) -> int:
    now = time.time() if now is None else now
    step = rotate_seconds()
    return max(1, int(step - (now % step)))


def checkin_token(activity, kind: str = "in", *, now: float | None = None) -> str:
    payload = {"a": activity.pk, "k": kind, "p": current_period(now), "n": activity.checkin_nonce}
    return signing.dumps(payload, salt=ROTATING_SALT, compress=True)


@dataclass(frozen=True)
class Rotating:
    activity_id: int
    kind: str
    period: int
    nonce: str


def read_checkin(token: str, *, now: float | None = None) -> Rotating:
    """The rotating code in ``token``; TokenExpired once its period and the grace are over."""
    payload = _load(token, ROTATING_SALT)
    try:
        code = Rotating(int(payload["a"]), str(payload["k"]), int(payload["p"]), str(payload["n"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc
    if code.kind not in ("in", "out"):
        raise TokenInvalid
    grace = max(0, int(conf.get("ACTIVITY_QR_GRACE_PERIODS")))
    age = current_period(now) - code.period
    if age < 0 or age > grace:  # from the future (a clock trick) or too old
        raise TokenExpired
    return code


def form_token(activity_id: int, kind: str, nonce: str) -> str:
    return signing.dumps({"a": activity_id, "k": kind, "n": nonce}, salt=FORM_SALT, compress=True)


def read_form(token: str) -> Rotating:
    payload = _load(token, FORM_SALT, max_age=int(conf.get("ACTIVITY_CHECKIN_FORM_SECONDS")))
    try:
        return Rotating(int(payload["a"]), str(payload["k"]), 0, str(payload["n"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc
