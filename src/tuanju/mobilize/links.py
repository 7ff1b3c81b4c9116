"""Absolute links put in robot posts, text messages and e-mails (``PUBLIC_BASE_URL`` + path)."""

from __future__ import annotations

from functools import lru_cache

from django.urls import reverse

from . import conf
from .tokens import group_token, receipt_token


@lru_cache(maxsize=8)
def _prefix(name: str) -> str:
    path = reverse(name, args=["TOKEN"])
    return path[: path.index("TOKEN")]


def receipt_path(receipt_id: int) -> str:
    return f"{_prefix('h5-mobilize:receipt')}{receipt_token(receipt_id)}/"


def group_path(delivery_id: int) -> str:
    return f"{_prefix('h5-mobilize:group')}{group_token(delivery_id)}/"


def receipt_link(receipt_id: int) -> str:
    return conf.public_url(receipt_path(receipt_id))


def group_link(delivery_id: int) -> str:
    return conf.public_url(group_path(delivery_id))


def staff_link(path: str) -> str:
    return conf.public_url(path)
