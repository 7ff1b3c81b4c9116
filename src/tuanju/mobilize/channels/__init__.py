"""Channel adapters: each turns one outbound message into its platform's request and the answer
into an ``Outcome``.

* ``wework`` — WeChat Work (企业微信) group robot: ``POST <webhook>`` with
  ``{"msgtype": "markdown", "markdown": {"content": …}}``; ``errcode`` 0 is success, 45009 the
  rate limit (20 messages per minute per robot), 93000 an invalid webhook.
* ``dingtalk`` — DingTalk (钉钉) custom robot with the "signature" security setting:
  ``timestamp`` (ms) and ``sign`` = URL-encoded base64 of HMAC-SHA256(secret, "timestamp\\nsecret")
  as query parameters; ``errcode`` 0 success, 130101 sending too fast, 310000 a security setting
  refused the message (signature, keyword, IP), 300001 an unknown token.
* ``feishu`` — Feishu/Lark (飞书) custom bot: ``timestamp`` (s) and ``sign`` = base64 of
  HMAC-SHA256 keyed with "timestamp\\nsecret" over an empty message, in the JSON body;
  ``code`` 0 success, 11232 rate limited, 19021 signature refused, 19001 invalid webhook,
  9499 a malformed request.
* ``sms`` — a generic HTTP text-message gateway (``CHANNELS["sms"]``): JSON request with the
  phone, the rendered text, template id and parameters and an idempotency key; the gateway's
  message id is recorded.
* ``email`` — Django's mail backend.

Outcomes: ``OK``; ``RETRY`` (rate limit, 5xx, timeout: tried again with back-off);
``PERMANENT`` (the address or its security setting is wrong: not retried; for a robot the group
is marked as failing with the reason, and its liaison relays instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache


class Outcome(StrEnum):
    OK = "ok"
    RETRY = "retry"
    PERMANENT = "permanent"


@dataclass
class Result:
    outcome: Outcome
    provider_id: str = ""
    http_status: int | None = None
    error: str = ""
    #: The platform asked to wait this long (seconds) before trying again.
    retry_after: float | None = None
    #: The group's robot itself is broken (invalid webhook, refused signature).
    robot_broken: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


@dataclass
class Outbound:
    """Everything an adapter needs to send one message; built by the delivery engine."""

    channel: str
    idem_key: str
    purpose: str
    title: str
    text: str
    link: str
    urgency: str = ""
    sender: str = ""
    deadline: str = ""
    #: robots
    url: str = ""
    secret: str = ""
    mention_mobiles: list[str] = field(default_factory=list)
    #: sms / e-mail
    phone: str = ""
    email: str = ""
    recipient: str = ""
    lines: list[str] = field(default_factory=list)


@lru_cache(maxsize=8)
def adapter_for(channel: str):
    from . import email, robots, sms

    adapters = {
        "wework": robots.WeWork,
        "dingtalk": robots.DingTalk,
        "feishu": robots.Feishu,
        "sms": sms.HttpGateway,
        "email": email.Mail,
    }
    try:
        return adapters[channel]()
    except KeyError as exc:
        raise ValueError(f"no adapter for channel {channel!r}") from exc
