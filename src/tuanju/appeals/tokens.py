"""Signed links for the public H5 pages (django.core.signing: unforgeable without SECRET_KEY).

* follow token — the young person's own link to an appeal: status, reply, rating. It carries
  the appeal's ``access_key``, so rotating the key revokes every link issued before.
* intake token — a unit's (or station's) "file an appeal" link / QR code; it decides which
  unit receives what is filed through it.
* check-in token — a station's QR code for 服务人次; rotating ``checkin_nonce`` revokes posters.
"""

from __future__ import annotations

from django.core import signing

FOLLOW_SALT = "tuanju.appeals.follow"
INTAKE_SALT = "tuanju.appeals.intake"
CHECKIN_SALT = "tuanju.appeals.checkin"


def follow_token(appeal) -> str:
    return signing.dumps({"a": appeal.pk, "k": appeal.access_key}, salt=FOLLOW_SALT, compress=True)


def read_follow_token(token: str):
    """The appeal a follow token opens, or None (tampered, truncated, revoked or unknown)."""
    from tuanju.appeals.models import Appeal

    try:
        payload = signing.loads(token or "", salt=FOLLOW_SALT)
        pk, key = int(payload["a"]), str(payload["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    appeal = Appeal.objects.select_related("category", "unit", "department").filter(pk=pk).first()
    if appeal is None or appeal.access_key != key:
        return None
    return appeal


def intake_token(unit, station=None) -> str:
    payload = {"u": unit.pk}
    if station is not None:
        payload["s"] = station.pk
    return signing.dumps(payload, salt=INTAKE_SALT, compress=True)


def read_intake_token(token: str):
    """``(unit, station)`` for an intake token, or None."""
    from tuanju.appeals.models import Station
    from tuanju.hierarchy.models import OrgUnit

    try:
        payload = signing.loads(token or "", salt=INTAKE_SALT)
        unit_id = int(payload["u"])
        station_id = int(payload["s"]) if payload.get("s") is not None else None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None:
        return None
    station = None
    if station_id is not None:
        station = Station.objects.filter(pk=station_id, unit=unit, is_active=True).first()
        if station is None:
            return None
    return unit, station


def checkin_token(station) -> str:
    return signing.dumps({"s": station.pk, "n": station.checkin_nonce}, salt=CHECKIN_SALT, compress=True)


def read_checkin_token(token: str):
    from tuanju.appeals.models import Station

    try:
        payload = signing.loads(token or "", salt=CHECKIN_SALT)
        pk, nonce = int(payload["s"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    station = Station.objects.select_related("unit").filter(pk=pk).first()
    if station is None or station.checkin_nonce != nonce or not station.is_active:
        return None
    return station
