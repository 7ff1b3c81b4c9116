"""Public links of appeals and stations and their QR codes (segno: SVG without Pillow)."""

from __future__ import annotations

import io

import segno
from django.urls import reverse

from tuanju.appeals import tokens
from tuanju.appeals.notify import public_url


def absolute(request, path: str) -> str:
    url = public_url(path)
    return url if url.startswith("http") else request.build_absolute_uri(path)


def intake_url(request, unit, station=None) -> str:
    return absolute(request, reverse("h5-appeals:new", args=[tokens.intake_token(unit, station)]))


def checkin_url(request, station) -> str:
    return absolute(request, reverse("h5-appeals:checkin", args=[tokens.checkin_token(station)]))


def svg_data_uri(url: str, *, scale: int = 6) -> str:
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=scale, border=2)


def svg_bytes(url: str, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="svg", scale=scale, border=2, xmldecl=True)
    return buffer.getvalue()
