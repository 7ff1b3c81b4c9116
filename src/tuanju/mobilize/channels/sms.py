"""Text messages through a generic HTTP gateway (``TUANJU["MOBILIZE"]["CHANNELS"]["sms"]``).

Request: ``POST url`` with ``Authorization: Bearer <api_key>``, ``Idempotency-Key: <key>`` and
JSON ``{"to", "sign", "template", "params": {"title", "urgency", "link"}, "content", "request_id"}``
(``content`` is the rendered ``text`` for gateways without templates). Answer: JSON whose
``ok_field`` equals ``ok_value`` on success and whose ``id_field`` is the gateway's message id
(both configurable, so most Chinese SMS gateways fit behind a thin proxy or directly).
"""

from __future__ import annotations

import json

from .. import conf
from . import Outbound, Outcome, Result, transport


class HttpGateway:
    channel = "sms"

    def render(self, msg: Outbound, cfg: dict) -> str:
        if msg.purpose == "escalation":
            return f"【{cfg.get('sign', '')}】{msg.title}：{msg.text} {msg.link}".strip()
        return cfg.get("text", "{title} {link}").format(
            sign=cfg.get("sign", ""), urgency=msg.urgency or "", title=msg.title, link=msg.link
        )

    def send(self, msg: Outbound) -> Result:
        cfg = conf.channel("sms")
        if not cfg.get("url"):
            return Result(Outcome.PERMANENT, error="未配置短信网关")
        if not msg.phone:
            return Result(Outcome.PERMANENT, error="没有手机号")
        body = {
            "to": msg.phone,
            "sign": cfg.get("sign", ""),
            "template": cfg.get("template", ""),
            "params": {"title": msg.title[:30], "urgency": msg.urgency, "link": msg.link},
            "content": self.render(msg, cfg),
            "request_id": msg.idem_key,
        }
        headers = {"Idempotency-Key": msg.idem_key}
        if cfg.get("api_key"):
            headers["Authorization"] = f"Bearer {cfg['api_key']}"
        try:
            status, answer = transport.post(
                cfg["url"],
                json.dumps(body, ensure_ascii=False).encode(),
                headers,
                timeout=float(cfg.get("timeout", 5)),
            )
        except transport.TransportError as exc:
            return Result(Outcome.RETRY, error=str(exc))
        try:
            data = json.loads(answer or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        field = cfg.get("ok_field", "code")
        value = data.get(field)
        if status == 200 and value == cfg.get("ok_value", 0):
            return Result(
                Outcome.OK,
                provider_id=str(data.get(cfg.get("id_field", "message_id"), ""))[:100],
                http_status=status,
            )
        reason = str(data.get("message") or data.get("msg") or "")[:150]
        if status == 429 or status >= 500 or value in cfg.get("retry_values", []):
            return Result(
                Outcome.RETRY,
                http_status=status,
                error=f"短信网关繁忙（{value or status} {reason}）".strip(),
                retry_after=30,
            )
        return Result(
            Outcome.PERMANENT,
            http_status=status,
            error=f"短信网关拒收（{value if value is not None else status} {reason}）",
        )
