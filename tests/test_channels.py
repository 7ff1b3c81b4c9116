"""C8 channel adapters against a local HTTP server that checks each request like the platforms do:
wire format, signatures, success / rate-limit / invalid-webhook answers, SMS gateway, e-mail,
the per-channel rate limit and the keep-alive transport."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote_plus

import pytest
from django.core import mail
from test_mobilize_support import FakePlatforms

from tuanju.mobilize.channels import Outbound, Outcome, adapter_for, robots, throttle, transport

LINK = "https://tuanju.example.cn/h5/d/g/abc.def/"


def outbound(channel: str, url: str = "", secret: str = "", **extra) -> Outbound:
    data = {
        "channel": channel,
        "idem_key": "d1:g1",
        "purpose": "directive",
        "title": "防汛紧急集结",
        "text": "请各村青年突击队于18:00前到村委会集合。",
        "link": LINK,
        "urgency": "紧急",
        "sender": "共青团义乌市委员会",
        "deadline": "18:03",
        "url": url,
        "secret": secret,
    }
    data.update(extra)
    return Outbound(**data)


@pytest.fixture
def server():
    with FakePlatforms() as s:
        yield s


@pytest.fixture
def sms_settings(settings, server):
    tuanju = dict(settings.TUANJU)
    tuanju["MOBILIZE"] = {
        "CHANNELS": {"sms": {"url": server.sms_url, "api_key": "sms-key", "sign": "共青团义乌市委"}}
    }
    settings.TUANJU = tuanju
    return server


# --- WeChat Work ---------------------------------------------------------------------------------


def test_wework_posts_markdown_with_the_link_and_reads_errcode_zero(server):
    result = adapter_for("wework").send(outbound("wework", server.wework("k-ok")))
    assert result.outcome is Outcome.OK and result.http_status == 200
    (req,) = server.requests
    assert req["path"] == "/cgi-bin/webhook/send" and req["query"]["key"] == ["k-ok"]
    assert req["headers"]["Content-Type"].startswith("application/json")
    body = req["body"]
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**【紧急指令】防汛紧急集结**")
    assert "请于 18:03 前确认" in content and "共青团义乌市委员会" in content
    assert f"[点击查看并确认收到]({LINK})" in content
    assert len(content.encode()) <= 4096


def test_wework_rate_limit_is_retried_after_a_minute_and_invalid_webhook_is_permanent(server):
    server.platforms.script["k-busy"] = [45009]
    busy = adapter_for("wework").send(outbound("wework", server.wework("k-busy")))
    assert busy.outcome is Outcome.RETRY and busy.retry_after == 60 and "45009" in busy.error
    assert not busy.robot_broken
    bad = adapter_for("wework").send(outbound("wework", server.wework("invalid-1")))
    assert bad.outcome is Outcome.PERMANENT and bad.robot_broken and "93000" in bad.error
    server.platforms.script["k-500"] = ["http500"]
    down = adapter_for("wework").send(outbound("wework", server.wework("k-500")))
    assert down.outcome is Outcome.RETRY and down.http_status == 500


def test_wework_reminder_mentions_the_liaisons_phones_as_text(server):
    msg = outbound("wework", server.wework("k-r"), purpose="reminder", mention_mobiles=["13800000001"])
    assert adapter_for("wework").send(msg).ok
    body = server.requests[0]["body"]
    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert body["text"]["content"].startswith("【提醒】")


def test_a_long_text_is_clipped_to_fit_the_platform_limit(server):
    msg = outbound("wework", server.wework("k-long"), text="很长的指令内容。" * 800)
    assert adapter_for("wework").send(msg).ok
    content = server.requests[0]["body"]["markdown"]["content"]
    assert len(content.encode()) <= 4096 and "…" in content and LINK in content


# --- DingTalk -----------------------------------------------------------------------------------------


def test_dingtalk_signs_timestamp_and_secret_as_its_security_setting_requires(server):
    url = server.dingtalk("tok-1", secret="SECabc123")
    result = adapter_for("dingtalk").send(outbound("dingtalk", url, "SECabc123"))
    assert result.ok
    (req,) = server.requests
    assert req["sign_ok"] is True
    ts = int(req["query"]["timestamp"][0])
    expected = base64.b64encode(
        hmac.new(b"SECabc123", f"{ts}\nSECabc123".encode(), hashlib.sha256).digest()
    ).decode()
    assert req["query"]["sign"] == [expected]
    body = req["body"]
    assert body["msgtype"] == "actionCard"
    assert body["actionCard"]["singleURL"] == LINK and body["actionCard"]["singleTitle"] == "查看并确认收到"
    assert "防汛紧急集结" in body["actionCard"]["title"]


def test_dingtalk_sign_is_url_encoded_base64():
    sign = robots.dingtalk_sign("SEC000", 1_600_000_000_000)
    raw = base64.b64encode(hmac.new(b"SEC000", b"1600000000000\nSEC000", hashlib.sha256).digest()).decode()
    assert sign == quote_plus(raw)


def test_dingtalk_wrong_secret_is_refused_with_310000_and_marks_the_robot(server):
    url = server.dingtalk("tok-2", secret="right-secret")
    result = adapter_for("dingtalk").send(outbound("dingtalk", url, "wrong-secret"))
    assert result.outcome is Outcome.PERMANENT and result.robot_broken
    assert "310000" in result.error and "签名" in result.error


def test_dingtalk_too_fast_is_retried_after_its_ten_minute_throttle(server):
    url = server.dingtalk("tok-3", secret="s3")
    server.platforms.script["tok-3"] = [130101]
    result = adapter_for("dingtalk").send(outbound("dingtalk", url, "s3"))
    assert result.outcome is Outcome.RETRY and result.retry_after == 600


# --- Feishu ---------------------------------------------------------------------------------------------


def test_feishu_puts_timestamp_and_signature_in_the_body(server):
    url = server.feishu("hook-1", secret="fs-secret")
    assert adapter_for("feishu").send(outbound("feishu", url, "fs-secret")).ok
    (req,) = server.requests
    assert req["sign_ok"] is True
    body = req["body"]
    key = f"{body['timestamp']}\nfs-secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "【紧急指令】防汛紧急集结"
    assert {"tag": "a", "text": "点击查看并确认收到", "href": LINK} in post["content"][-1]


def test_feishu_answers_signature_rate_limit_and_bad_request(server):
    url = server.feishu("hook-2", secret="a")
    refused = adapter_for("feishu").send(outbound("feishu", url, "b"))
    assert refused.outcome is Outcome.PERMANENT and refused.robot_broken and "19021" in refused.error
    server.platforms.script["hook-3"] = [11232]
    busy = adapter_for("feishu").send(outbound("feishu", server.feishu("hook-3"), ""))
    assert busy.outcome is Outcome.RETRY and busy.retry_after == 60
    bad = robots.Feishu().interpret(
        200, json.dumps({"code": 9499, "msg": "Bad Request", "data": {}}).encode()
    )
    assert bad.outcome is Outcome.PERMANENT and not bad.robot_broken and "9499" in bad.error
    legacy = robots.Feishu().interpret(200, b'{"StatusCode":0,"StatusMessage":"success"}')
    assert legacy.ok


def test_unreachable_robot_is_a_transport_error_retried():
    result = adapter_for("wework").send(outbound("wework", "http://127.0.0.1:9/cgi-bin/webhook/send?key=x"))
    assert result.outcome is Outcome.RETRY and result.error


# --- SMS and e-mail -------------------------------------------------------------------------------------


def test_sms_gateway_gets_template_params_and_idempotency_key_and_returns_message_id(sms_settings):
    server = sms_settings
    msg = outbound("sms", phone="13812345678", link="https://t.example/h5/d/1z.xyz/")
    result = adapter_for("sms").send(msg)
    assert result.ok and result.provider_id == "sms-1"
    (req,) = server.requests
    assert req["headers"]["Authorization"] == "Bearer sms-key"
    assert req["headers"]["Idempotency-Key"] == "d1:g1"
    body = req["body"]
    assert body["to"] == "13812345678" and body["request_id"] == "d1:g1"
    assert body["params"] == {
        "title": "防汛紧急集结",
        "urgency": "紧急",
        "link": "https://t.example/h5/d/1z.xyz/",
    }
    assert (
        body["content"]
        == "【共青团义乌市委】紧急：防汛紧急集结。请点击 https://t.example/h5/d/1z.xyz/ 确认收到。"
    )


def test_sms_busy_is_retried_and_refusal_is_permanent(sms_settings, settings):
    server = sms_settings
    server.platforms.script["13800000009"] = ["RATE_LIMIT"]
    assert adapter_for("sms").send(outbound("sms", phone="13800000009")).outcome is Outcome.RETRY
    server.platforms.script["13800000008"] = [40001]
    refused = adapter_for("sms").send(outbound("sms", phone="13800000008"))
    assert refused.outcome is Outcome.PERMANENT and "40001" in refused.error
    tuanju = dict(settings.TUANJU)
    tuanju["MOBILIZE"] = {"CHANNELS": {"sms": {"url": ""}}}
    settings.TUANJU = tuanju
    assert adapter_for("sms").send(outbound("sms", phone="13800000007")).outcome is Outcome.PERMANENT


def test_email_goes_through_the_django_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = adapter_for("email").send(
        outbound("email", email="cadre@example.cn", recipient="王干部", lines=["华新社区青年群"])
    )
    assert result.ok and result.provider_id
    (message,) = mail.outbox
    assert message.to == ["cadre@example.cn"]
    assert message.subject == "【紧急指令】防汛紧急集结"
    assert "王干部" in message.body and "华新社区青年群" in message.body and LINK in message.body
    assert message.extra_headers["X-Tuanju-Key"] == "d1:g1"


# --- Rate limit and transport -----------------------------------------------------------------------


def test_channel_rate_limit_waits_for_the_next_window(settings):
    from django.core.cache import cache

    cache.clear()
    tuanju = dict(settings.TUANJU)
    tuanju["MOBILIZE"] = {"CHANNELS": {"wework": {"rate": "25/1s"}}}
    settings.TUANJU = tuanju
    clock = {"t": 1000.0}
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock["t"] += seconds

    throttle._local.buckets = {}
    for _ in range(25):
        assert throttle.acquire("wework", sleep=sleep, now=lambda: clock["t"]) == 0
    waited = throttle.acquire("wework", sleep=sleep, now=lambda: clock["t"])
    assert waited > 0 and slept and clock["t"] >= 1001.0


def test_transport_keeps_the_connection_alive_and_reconnects(server):
    url = server.wework("k-keep")
    for _ in range(3):
        status, body = transport.post(url, b'{"msgtype":"markdown","markdown":{"content":"x"}}', {})
        assert status == 200 and json.loads(body)["errcode"] == 0
    conn = transport._local.pool[("http", "127.0.0.1", server.server.server_address[1])]
    assert conn.sock is not None
    import socket

    conn.sock.shutdown(socket.SHUT_RDWR)  # the connection dropped between two posts
    status, _body = transport.post(url, b'{"msgtype":"markdown","markdown":{"content":"y"}}', {})
    assert status == 200
    assert server.count["wework:k-keep"] == 4
