"""Shared helpers of the mobilization tests (no tests here): a local robot/SMS server that checks
every request like the platforms do, and a small tower with people, liaisons and robots."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit

from test_groups_support import add_person, make_tower

from tuanju.groups import actions as groups_actions
from tuanju.groups.models import ChatGroup
from tuanju.mobilize.channels import transport


class Platforms:
    """What the fake platforms know: secrets per robot, scripted answers, and every request seen."""

    def __init__(self):
        self.secrets: dict[str, str] = {}
        self.script: dict[str, list] = defaultdict(list)
        self.requests: list[dict] = []
        self.count: Counter = Counter()
        self.lock = threading.Lock()

    def next_answer(self, key: str):
        with self.lock:
            queue = self.script.get(key)
            return queue.pop(0) if queue else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    platforms: Platforms

    def log_message(self, *args):  # keep the test output clean
        pass

    def _answer(self, status: int, data: dict) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        p = self.platforms
        try:
            body = json.loads(raw)
        except ValueError:
            return self._answer(400, {"error": "not json"})
        seen = {
            "path": parts.path,
            "query": query,
            "headers": dict(self.headers),
            "body": body,
            "at": time.time(),
        }
        if parts.path == "/cgi-bin/webhook/send":
            key = query.get("key", [""])[0]
            seen["robot"] = f"wework:{key}"
            ok = body.get("msgtype") in ("markdown", "text") and (
                body.get("markdown", {}).get("content") or body.get("text", {}).get("content")
            )
            scripted = p.next_answer(key)
            with p.lock:
                p.requests.append(seen)
                p.count[seen["robot"]] += 1
            if not ok:
                return self._answer(200, {"errcode": 40008, "errmsg": "invalid message type"})
            if scripted == "http500":
                return self._answer(500, {})
            code = scripted if scripted is not None else (93000 if key.startswith("invalid") else 0)
            return self._answer(
                200,
                {
                    "errcode": code,
                    "errmsg": {0: "ok", 45009: "api freq out of limit", 93000: "invalid webhook url"}.get(
                        code, "x"
                    ),
                },
            )
        if parts.path == "/robot/send":
            token = query.get("access_token", [""])[0]
            seen["robot"] = f"dingtalk:{token}"
            secret = p.secrets.get(token)
            sign_ok = True
            if secret:
                ts = query.get("timestamp", [""])[0]
                sign = query.get("sign", [""])[0]  # parse_qs already URL-decoded it once
                expected = base64.b64encode(
                    hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
                ).decode()
                sign_ok = (
                    bool(ts)
                    and hmac.compare_digest(sign, expected)
                    and abs(time.time() * 1000 - int(ts)) < 3600_000
                )
            seen["sign_ok"] = sign_ok
            with p.lock:
                p.requests.append(seen)
                p.count[seen["robot"]] += 1
            scripted = p.next_answer(token)
            if not sign_ok:
                return self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
            if body.get("msgtype") not in ("markdown", "actionCard", "text"):
                return self._answer(200, {"errcode": 40035, "errmsg": "bad msgtype"})
            code = scripted if scripted is not None else 0
            return self._answer(200, {"errcode": code, "errmsg": "ok" if code == 0 else "send too fast"})
        if parts.path.startswith("/open-apis/bot/v2/hook/"):
            token = parts.path.rsplit("/", 1)[-1]
            seen["robot"] = f"feishu:{token}"
            secret = p.secrets.get(token)
            sign_ok = True
            if secret:
                ts = str(body.get("timestamp", ""))
                expected = base64.b64encode(
                    hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
                ).decode()
                sign_ok = (
                    bool(ts)
                    and hmac.compare_digest(str(body.get("sign", "")), expected)
                    and abs(time.time() - int(ts)) < 3600
                )
            seen["sign_ok"] = sign_ok
            with p.lock:
                p.requests.append(seen)
                p.count[seen["robot"]] += 1
            scripted = p.next_answer(token)
            if not sign_ok:
                return self._answer(
                    200,
                    {
                        "code": 19021,
                        "msg": "sign match fail or timestamp is not within one hour from current time",
                        "data": {},
                    },
                )
            if body.get("msg_type") not in ("post", "text", "interactive"):
                return self._answer(200, {"code": 9499, "msg": "Bad Request", "data": {}})
            code = scripted if scripted is not None else 0
            return self._answer(
                200, {"code": code, "msg": "success" if code == 0 else "frequency limited", "data": {}}
            )
        if parts.path == "/sms/send":
            seen["robot"] = f"sms:{body.get('to')}"
            with p.lock:
                p.requests.append(seen)
                p.count[seen["robot"]] += 1
                n = len(p.requests)
            if self.headers.get("Authorization") != "Bearer sms-key":
                return self._answer(401, {"code": 401, "message": "unauthorized"})
            scripted = p.next_answer(body.get("to", ""))
            if scripted is not None:
                return self._answer(200, {"code": scripted, "message": "busy"})
            return self._answer(200, {"code": 0, "message_id": f"sms-{n}"})
        return self._answer(404, {"error": "no such path"})


class FakePlatforms:
    """``with FakePlatforms() as server:`` — a threaded HTTP server on 127.0.0.1 (ephemeral port)."""

    def __enter__(self):
        self.platforms = Platforms()
        handler = type("BoundHandler", (Handler,), {"platforms": self.platforms})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        transport.close_all()
        self.server.shutdown()
        self.server.server_close()

    # URLs in each platform's shape
    def wework(self, key: str) -> str:
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def dingtalk(self, token: str, secret: str = "") -> str:
        if secret:
            self.platforms.secrets[token] = secret
        return f"{self.base}/robot/send?access_token={token}"

    def feishu(self, token: str, secret: str = "") -> str:
        if secret:
            self.platforms.secrets[token] = secret
        return f"{self.base}/open-apis/bot/v2/hook/{token}"

    @property
    def sms_url(self) -> str:
        return f"{self.base}/sms/send"

    @property
    def requests(self):
        return self.platforms.requests

    @property
    def count(self):
        return self.platforms.count


def set_robot(group: ChatGroup, platform: str, url: str, secret: str = "") -> ChatGroup:
    group.platform = platform
    group.set_webhook(url, secret or None)
    group.save()
    return group


def tower_world(world, *, people_per_group: int = 2) -> dict:
    """Yiwu's tower from the groups tests, built, with people placed and a liaison per group."""
    units = make_tower(world)
    groups_actions.build_towers(units["330782"])
    groups_actions.build_towers(units["330783"])
    tier3 = [u for code, u in sorted(units.items()) if u.level == "tier3"]
    n = 0
    people = []
    for unit in tier3:
        for _i in range(people_per_group):
            n += 1
            people.append(add_person(unit, f"青年{n:02d}", phone=f"1380000{n:04d}"))
    dongyang = units["330783001001001"]
    people.append(add_person(dongyang, "东阳青年", phone="13900000001"))
    groups_actions.place_people(units["330782"])
    groups_actions.place_people(units["330783"])
    return {"units": units, "people": people}


def unquote(value: str) -> str:
    return unquote_plus(value)
