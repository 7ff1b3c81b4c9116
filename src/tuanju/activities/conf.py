"""The activities app's settings: ``TUANJU[...]`` in settings.py overrides each default here.

TUANJU = {..., "ACTIVITY_HOURS_STEP_MINUTES": 15, "ACTIVITY_HOURS_ROUNDING": "nearest"}
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS: dict = {
    # A participant may cancel online until this many hours before the start (per activity, this
    # is the default of the activity's own field); after it, only a leave request remains.
    "ACTIVITY_CANCEL_CUTOFF_HOURS": 24,
    # A check-in more than this many minutes after the start is noted as late.
    "ACTIVITY_LATE_AFTER_MINUTES": 10,
    # Self check-in opens this long before the start and closes this long after the end.
    "ACTIVITY_CHECKIN_OPENS_MINUTES": 60,
    "ACTIVITY_CHECKIN_CLOSES_MINUTES": 120,
    # The activity's check-in QR code changes every N seconds; a scanned code stays good for
    # this many earlier periods (so a code scanned just before it changed still works), and the
    # page it opens must be submitted within FORM seconds. Yesterday's photo never works.
    "ACTIVITY_QR_ROTATE_SECONDS": 30,
    "ACTIVITY_QR_GRACE_PERIODS": 1,
    "ACTIVITY_CHECKIN_FORM_SECONDS": 300,
    # Volunteer hours: check-out minus check-in, capped by the activity's duration, rounded to
    # a step of N minutes: "down" (the volunteer platforms' usual rule), "nearest" or "up".
    "ACTIVITY_HOURS_STEP_MINUTES": 30,
    "ACTIVITY_HOURS_ROUNDING": "down",
    # Attendance is settled (absences counted) this many hours after an activity ends, so that
    # the organizer can still correct forgotten check-ins; staff may settle earlier by hand.
    "ACTIVITY_SETTLE_AFTER_HOURS": 2,
    # N consecutive unexcused absences (per community: Community.absence_limit, whose default
    # is CREDIT_ABSENCE_LIMIT) block the next registration; after this many blocks in one
    # community the person is proposed for its blacklist (the owner decides).
    "ACTIVITY_BLOCKS_BEFORE_BLACKLIST": 2,
    # Activity-frequency health: organizations and communities without an activity in the last
    # 1 and 2 months are flagged (seed 002: at least one activity every 1–2 months).
    "ACTIVITY_HEALTH_MONTHS": (1, 2),
}

#: Public-page rate limits (TUANJU["H5_RATE_LIMITS"] overrides each, e.g. {"act-register-ip": "60/10m"}).
RATE_LIMITS = {
    "act-view-ip": "300/10m",
    "act-register-ip": "30/10m",
    "act-register-phone": "5/1h",
    # A venue's Wi-Fi puts hundreds of phones behind one address at check-in time.
    "act-checkin-ip": "1500/10m",
    "act-checkin-phone": "10/10m",
    "act-ticket-ip": "300/10m",
}

HOURS_ROUNDING_MODES = ("down", "nearest", "up")


def get(name: str):
    return getattr(settings, "TUANJU", {}).get(name, DEFAULTS[name])


def health_months() -> tuple[int, ...]:
    months = tuple(sorted({int(m) for m in get("ACTIVITY_HEALTH_MONTHS")}))
    return months or (1, 2)
