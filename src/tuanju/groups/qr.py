"""Invite URLs and their QR codes (segno: pure Python, PNG and SVG without Pillow)."""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.urls import reverse

from .tokens import make_invite


def invite_url(request, community, *, days: int | None = None, channel: str = "link") -> str:
    """The absolute H5 join URL with a fresh signed token.

    ``TUANJU["PUBLIC_BASE_URL"]`` (e.g. https://tuanju.example.cn) is used when the staff UI is
    reached under another host name than the one phones can open.
    """
    path = reverse("h5:join", args=[make_invite(community, days=days, channel=channel)])
    base = getattr(settings, "TUANJU", {}).get("PUBLIC_BASE_URL", "")
    return base.rstrip("/") + path if base else request.build_absolute_uri(path)


def _code(url: str):
    # Level M survives a poster's creases and a phone screen's glare; micro codes are refused.
    return segno.make(url, error="m", micro=False)


def png(url: str, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def svg(url: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="svg", scale=scale, border=2, xmldecl=True, svgns=True, title="QR")
    return buffer.getvalue()


def svg_data_uri(url: str, *, scale: int = 8) -> str:
    return _code(url).svg_data_uri(scale=scale, border=2)
