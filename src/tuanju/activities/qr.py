"""Absolute URLs of the public activity pages and their QR codes (segno: pure Python)."""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.urls import reverse

from . import tokens


def absolute(request, path: str) -> str:
    """``TUANJU["PUBLIC_BASE_URL"]`` (the host phones can open) when set, else the request's host."""
    base = getattr(settings, "TUANJU", {}).get("PUBLIC_BASE_URL", "")
    if base:
        return base.rstrip("/") + path
    return request.build_absolute_uri(path) if request is not None else path


def registration_url(request, activity, channel: str = "link") -> str:
    return absolute(request, reverse("h5-activities:activity", args=[tokens.link_token(activity, channel)]))


def ticket_url(request, registration) -> str:
    return absolute(request, reverse("h5-activities:ticket", args=[tokens.ticket_token(registration)]))


def scan_url(request, registration) -> str:
    return absolute(request, reverse("activities:scan", args=[tokens.scan_token(registration)]))


def checkin_url(request, activity, kind: str = "in") -> str:
    return absolute(request, reverse("h5-activities:checkin", args=[tokens.checkin_token(activity, kind)]))


def _code(text: str):
    return segno.make(text, error="m", micro=False)


def png(text: str, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    _code(text).save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def svg(text: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    _code(text).save(buffer, kind="svg", scale=scale, border=2, xmldecl=True, svgns=True, title="QR")
    return buffer.getvalue()


def svg_data_uri(text: str, *, scale: int = 8) -> str:
    return _code(text).svg_data_uri(scale=scale, border=2)
