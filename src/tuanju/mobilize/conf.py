"""Settings of the mobilization app, with defaults; override any key in ``TUANJU["MOBILIZE"]``.

    TUANJU["MOBILIZE"] = {
        "SERVICE_LEVELS": {"emergency": 180, "urgent": 900, "general": 3600, "periodic": 604800},
        "ESCALATION_STEPS": [0.5, 1.0],
        "CHANNELS": {"sms": {"url": "https://sms.example.cn/send", "api_key": "…"}},
    }

Nested dictionaries are merged key by key, so a deployment names only what it changes.
``PUBLIC_BASE_URL`` (the address phones open the links at) also reads the environment variable
``TUANJU_PUBLIC_URL``.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict = {
    # Service levels in seconds (seeds 004: Yiwu 3 minutes; Qianjiang 15 minutes, 1 hour, 1 week).
    "SERVICE_LEVELS": {"emergency": 180, "urgent": 900, "general": 3600, "periodic": 7 * 86400},
    # Shares of the service level at which a group that has not acknowledged is escalated.
    "ESCALATION_STEPS": [0.5, 1.0],
    # Roles whose directives wait for an administrator's approval, and urgency classes exempt
    # from it (an emergency goes out at once; the approver reviews it afterwards).
    "APPROVAL_ROLES": ["cadre"],
    "APPROVAL_EXEMPT_URGENCIES": ["emergency"],
    "PUBLIC_BASE_URL": os.environ.get("TUANJU_PUBLIC_URL", "http://127.0.0.1:8000"),
    # Delivery engine.
    "BATCH_SIZE": 100,  # messages per task
    "LEASE_SECONDS": 60,  # a claimed message is re-queued when its worker stops renewing this
    "MAX_ATTEMPTS": 6,
    "BACKOFF_SECONDS": [5, 20, 60, 180, 600],
    "CHANNELS": {
        "wework": {"rate": "2000/1s", "timeout": 5.0},
        "dingtalk": {"rate": "2000/1s", "timeout": 5.0},
        "feishu": {"rate": "2000/1s", "timeout": 5.0},
        "sms": {
            "rate": "200/1s",
            "timeout": 5.0,
            # A generic HTTP gateway: POST JSON {to, content, sign, template, request_id}.
            "url": "",
            "api_key": "",
            "sign": "共青团",
            "template": "",
            "text": "【{sign}】{urgency}：{title}。请点击 {link} 确认收到。",
            "ok_field": "code",
            "ok_value": 0,
            "id_field": "message_id",
            "retry_values": [429, "429", "RATE_LIMIT"],
        },
        "email": {"rate": "50/1s"},
    },
    # Public acknowledgement endpoint. Many phones share one carrier NAT address: the per-IP
    # limit is generous, the per-link one strict.
    "ACK_LIMITS": {"ip": "6000/1m", "link": "30/10m", "phone": "10/10m"},
    # The live reach view polls; its figures are cached this long per directive and root.
    "REACH_CACHE_SECONDS": 3,
    "REACH_POLL_SECONDS": 5,
    # Maximum rows of the people sheet of a reach export.
    "EXPORT_MAX_PEOPLE": 200_000,
}


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@lru_cache(maxsize=1)
def conf() -> dict:
    return _merge(DEFAULTS, getattr(settings, "TUANJU", {}).get("MOBILIZE", {}))


@receiver(setting_changed)
def _reset(setting, **kwargs) -> None:
    if setting == "TUANJU":
        conf.cache_clear()


def get(key: str):
    return conf()[key]


def service_seconds(urgency: str) -> int:
    return int(get("SERVICE_LEVELS")[urgency])


def channel(name: str) -> dict:
    return conf()["CHANNELS"].get(name, {})


def public_url(path: str) -> str:
    return get("PUBLIC_BASE_URL").rstrip("/") + path
