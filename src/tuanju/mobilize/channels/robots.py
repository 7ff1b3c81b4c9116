"""Group robots of WeChat Work, DingTalk and Feishu (see the package docstring for the protocols)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote_plus

from .. import conf
from . import Outbound, Outcome, Result, transport

#: WeChat Work limits a markdown message to 4,096 bytes; the others are larger, but a directive
#: read on a phone is better short anyway: the full text is one tap away behind the link.
MAX_TEXT_BYTES = 3000


def _clip(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def _json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _parse(status: int, body: bytes) -> dict | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _http_failure(status: int, body: bytes) -> Result:
    """An answer that is not the platform's JSON: 429 and 5xx are retried, the rest is permanent."""
    if status == 429 or status >= 500:
        return Result(
            Outcome.RETRY,
            http_status=status,
            error=f"HTTP {status}",
            retry_after=30 if status == 429 else None,
        )
    if status in (404, 410):
        return Result(
            Outcome.PERMANENT,
            http_status=status,
            error=f"Webhook 地址不存在（HTTP {status}）",
            robot_broken=True,
        )
    return Result(Outcome.PERMANENT, http_status=status, error=f"HTTP {status}")


class Robot:
    channel = ""

    def request(self, msg: Outbound) -> tuple[str, bytes, dict]:
        raise NotImplementedError

    def interpret(self, status: int, body: bytes) -> Result:
        raise NotImplementedError

    def send(self, msg: Outbound) -> Result:
        if not msg.url:
            return Result(Outcome.PERMANENT, error="未设置群机器人 Webhook", robot_broken=True)
        url, body, headers = self.request(msg)
        timeout = float(conf.channel(self.channel).get("timeout", 5.0))
        try:
            status, answer = transport.post(url, body, headers, timeout=timeout)
        except transport.TransportError as exc:
            return Result(Outcome.RETRY, error=str(exc))
        return self.interpret(status, answer)


def heading(msg: Outbound) -> str:
    if msg.purpose == "reminder":
        return f"【提醒】{msg.title}"
    return f"【{msg.urgency}指令】{msg.title}" if msg.urgency else msg.title


def markdown_text(msg: Outbound, *, link_label: str = "点击查看并确认收到") -> str:
    lines = [f"**{heading(msg)}**"]
    meta = " · ".join(
        part for part in (msg.sender, f"请于 {msg.deadline} 前确认" if msg.deadline else "") if part
    )
    if meta:
        lines.append(f"> {meta}")
    lines.append("")
    lines.append(_clip(msg.text))
    if msg.link:
        lines.append("")
        lines.append(f"[{link_label}]({msg.link})")
    return "\n".join(lines)


class WeWork(Robot):
    """企业微信群机器人."""

    channel = "wework"
    RATE_LIMITED = {45009, 45033}
    INVALID = {93000, 93004, 40008, 40058}

    def request(self, msg: Outbound) -> tuple[str, bytes, dict]:
        if msg.mention_mobiles:
            # markdown cannot mention people; a reminder that must reach the liaison's phone is text.
            text = f"{heading(msg)}\n{_clip(msg.text)}\n{msg.link}".strip()
            body = {
                "msgtype": "text",
                "text": {"content": text, "mentioned_mobile_list": msg.mention_mobiles},
            }
        else:
            body = {"msgtype": "markdown", "markdown": {"content": markdown_text(msg)}}
        return msg.url, _json(body), {}

    def interpret(self, status: int, body: bytes) -> Result:
        data = _parse(status, body)
        if status != 200 or data is None or "errcode" not in data:
            return _http_failure(status, body)
        code, text = data.get("errcode"), str(data.get("errmsg", ""))[:200]
        if code == 0:
            return Result(Outcome.OK, http_status=status)
        if code in self.RATE_LIMITED:
            return Result(
                Outcome.RETRY, http_status=status, error=f"企业微信限流（{code} {text}）", retry_after=60
            )
        if code == 93000:
            return Result(
                Outcome.PERMANENT,
                http_status=status,
                error=f"企业微信 Webhook 无效（93000 {text}）",
                robot_broken=True,
            )
        if code in self.INVALID:
            return Result(
                Outcome.PERMANENT,
                http_status=status,
                error=f"企业微信拒收（{code} {text}）",
                robot_broken=True,
            )
        if code == -1:
            return Result(Outcome.RETRY, http_status=status, error=f"企业微信系统繁忙（-1 {text}）")
        return Result(Outcome.PERMANENT, http_status=status, error=f"企业微信错误（{code} {text}）")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk: URL-encoded base64 of HMAC-SHA256 keyed with the secret over "timestamp\\nsecret"."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalk(Robot):
    """钉钉自定义机器人 (security setting: signature)."""

    channel = "dingtalk"
    INVALID = {300001, 300005, 310000, 400102, 400105}

    def __init__(self, clock=time.time):
        self.clock = clock

    def request(self, msg: Outbound) -> tuple[str, bytes, dict]:
        url = msg.url
        if msg.secret:
            ts = int(self.clock() * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={dingtalk_sign(msg.secret, ts)}"
        if msg.link:
            body = {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": heading(msg)[:60],
                    "text": _card_text(msg),
                    "singleTitle": "查看并确认收到",
                    "singleURL": msg.link,
                },
            }
        else:
            body = {
                "msgtype": "markdown",
                "markdown": {"title": heading(msg)[:60], "text": markdown_text(msg)},
            }
        if msg.mention_mobiles:
            body = {
                "msgtype": "markdown",
                "markdown": {
                    "title": heading(msg)[:60],
                    "text": markdown_text(msg) + "\n\n" + " ".join(f"@{m}" for m in msg.mention_mobiles),
                },
                "at": {"atMobiles": msg.mention_mobiles, "isAtAll": False},
            }
        return url, _json(body), {}

    def interpret(self, status: int, body: bytes) -> Result:
        data = _parse(status, body)
        if status != 200 or data is None or "errcode" not in data:
            return _http_failure(status, body)
        code, text = data.get("errcode"), str(data.get("errmsg", ""))[:200]
        if code == 0:
            return Result(Outcome.OK, http_status=status)
        if code == 130101:
            # Over 20 messages a minute the robot is throttled for 10 minutes.
            return Result(
                Outcome.RETRY, http_status=status, error=f"钉钉发送过快（130101 {text}）", retry_after=600
            )
        if code == 310000:
            return Result(
                Outcome.PERMANENT,
                http_status=status,
                error=f"钉钉安全设置校验未通过：签名、关键词或 IP（310000 {text}）",
                robot_broken=True,
            )
        if code in self.INVALID:
            return Result(
                Outcome.PERMANENT,
                http_status=status,
                error=f"钉钉机器人无效（{code} {text}）",
                robot_broken=True,
            )
        if code in (-1, 130100):
            return Result(Outcome.RETRY, http_status=status, error=f"钉钉系统繁忙（{code} {text}）")
        return Result(Outcome.PERMANENT, http_status=status, error=f"钉钉错误（{code} {text}）")


def _card_text(msg: Outbound) -> str:
    lines = [f"### {heading(msg)}"]
    meta = " · ".join(
        part for part in (msg.sender, f"请于 {msg.deadline} 前确认" if msg.deadline else "") if part
    )
    if meta:
        lines.append(f"> {meta}")
    lines.append("")
    lines.append(_clip(msg.text))
    return "\n".join(lines)


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu: base64 of HMAC-SHA256 keyed with "timestamp\\nsecret" over an empty message."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class Feishu(Robot):
    """飞书自定义机器人 (security setting: signature)."""

    channel = "feishu"
    INVALID = {19001, 19002, 19021, 19022, 19024}

    def __init__(self, clock=time.time):
        self.clock = clock

    def request(self, msg: Outbound) -> tuple[str, bytes, dict]:
        content = [[{"tag": "text", "text": _clip(msg.text)}]]
        meta = " · ".join(
            part for part in (msg.sender, f"请于 {msg.deadline} 前确认" if msg.deadline else "") if part
        )
        if meta:
            content.insert(0, [{"tag": "text", "text": meta}])
        if msg.link:
            content.append([{"tag": "a", "text": "点击查看并确认收到", "href": msg.link}])
        body: dict = {
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": heading(msg), "content": content}}},
        }
        if msg.secret:
            ts = int(self.clock())
            body = {"timestamp": str(ts), "sign": feishu_sign(msg.secret, ts), **body}
        return msg.url, _json(body), {}

    def interpret(self, status: int, body: bytes) -> Result:
        data = _parse(status, body)
        if data is None or not ("code" in data or "StatusCode" in data):
            return _http_failure(status, body)
        code = data.get("code", data.get("StatusCode"))
        text = str(data.get("msg", data.get("StatusMessage", "")))[:200]
        if code == 0:
            return Result(Outcome.OK, http_status=status)
        if code == 11232:
            return Result(
                Outcome.RETRY, http_status=status, error=f"飞书限流（11232 {text}）", retry_after=60
            )
        if code == 19021:
            return Result(
                Outcome.PERMANENT,
                http_status=status,
                error=f"飞书签名校验失败（19021 {text}）",
                robot_broken=True,
            )
        if code in self.INVALID:
            return Result(
                Outcome.PERMANENT,
                http_status=status,
                error=f"飞书机器人无效（{code} {text}）",
                robot_broken=True,
            )
        if code == 9499:
            return Result(
                Outcome.PERMANENT, http_status=status, error=f"飞书拒收：请求格式错误（9499 {text}）"
            )
        if status == 429 or status >= 500:
            return _http_failure(status, body)
        return Result(Outcome.PERMANENT, http_status=status, error=f"飞书错误（{code} {text}）")
