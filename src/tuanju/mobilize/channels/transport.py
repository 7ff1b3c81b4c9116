"""HTTP for the channel adapters: persistent connections per thread, on the standard library.

``post(url, body, headers, timeout)`` returns ``(status, body)`` or raises ``TransportError``.
Each worker thread keeps one keep-alive connection per (scheme, host, port): a fan-out posts
tens of thousands of messages to a few hosts (qyapi.weixin.qq.com, oapi.dingtalk.com,
open.feishu.cn), so connection and TLS set-up are paid once per thread, not per message.

``http.client`` rather than a third-party client: on a small machine it costs a fifth of the
CPU per request of the popular pure-Python clients, and CPU is what bounds a fan-out here.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from functools import lru_cache
from urllib.parse import urlsplit


class TransportError(Exception):
    """The request could not be completed (connection refused, reset, timed out)."""


_local = threading.local()


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def _connection(scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (scheme, host, port)
    conn = pool.get(key)
    if conn is None:
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=_tls())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        pool[key] = conn
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


def _drop(scheme: str, host: str, port: int | None) -> None:
    conn = getattr(_local, "pool", {}).pop((scheme, host, port), None)
    if conn is not None:
        conn.close()


def close_all() -> None:
    """Close this thread's connections (end of a worker thread, tests)."""
    for conn in getattr(_local, "pool", {}).values():
        conn.close()
    _local.pool = {}


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 5.0) -> tuple[int, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"不支持的地址：{parts.scheme}://{parts.hostname or ''}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    send_headers = {"Content-Type": "application/json; charset=utf-8", "Connection": "keep-alive", **headers}
    key = (parts.scheme, parts.hostname, parts.port)
    for attempt in (1, 2):
        conn = _connection(*key, timeout)
        reused = conn.sock is not None
        try:
            conn.request("POST", target, body=body, headers=send_headers)
            response = conn.getresponse()
            data = response.read()
            if response.will_close:
                _drop(*key)
            return response.status, data
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            _drop(*key)
            # A kept-alive connection the server had already closed: the request never got
            # there, so it is sent again once on a fresh connection.
            if reused and attempt == 1:
                continue
            raise TransportError(f"连接中断：{exc.__class__.__name__}") from exc
        except TimeoutError as exc:
            _drop(*key)
            raise TransportError("请求超时") from exc
        except (OSError, http.client.HTTPException) as exc:
            _drop(*key)
            if reused and attempt == 1 and isinstance(exc, OSError):
                continue
            raise TransportError(f"连接失败：{exc.__class__.__name__}") from exc
    raise TransportError("连接失败")  # pragma: no cover - the loop returns or raises
