"""Personal data at rest: AES-256-GCM field encryption and keyed blind indexes.

Ciphertext layout: ``key_id (4 bytes) | nonce (12) | ciphertext+tag``. ``key_id`` is a hash
prefix of the key, so after a rotation rows written under an old key still decrypt while the
rotation command re-encrypts them in batches. A blind index is an HMAC-SHA256 of the
normalized value: exact lookup and de-duplication without decrypting, useless to anyone
without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
KEY_ID_BYTES = 4


def _derive(label: bytes) -> bytes:
    return hashlib.sha256(label + settings.SECRET_KEY.encode()).digest()


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS entries must be base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS entries must be 32 bytes (AES-256)")
    return key


class FieldCipher:
    def __init__(self, keys: list[bytes], blind_key: bytes):
        if not keys:
            raise ImproperlyConfigured("at least one field-encryption key is required")
        self._keys = {self.key_id(k): AESGCM(k) for k in keys}
        self._primary_id = self.key_id(keys[0])
        self._primary = self._keys[self._primary_id]
        self._blind_key = blind_key

    @staticmethod
    def key_id(key: bytes) -> bytes:
        return hashlib.sha256(key).digest()[:KEY_ID_BYTES]

    @property
    def primary_key_id(self) -> bytes:
        return self._primary_id

    def encrypt(self, value: str | None) -> bytes | None:
        if value is None or value == "":
            return None
        nonce = os.urandom(NONCE_BYTES)
        return self._primary_id + nonce + self._primary.encrypt(nonce, value.encode(), None)

    def decrypt(self, blob: bytes | memoryview | None) -> str:
        if not blob:
            return ""
        blob = bytes(blob)
        aead = self._keys.get(blob[:KEY_ID_BYTES])
        if aead is None:
            raise ValueError("encrypted with a key that is not configured")
        start = KEY_ID_BYTES + NONCE_BYTES
        return aead.decrypt(blob[KEY_ID_BYTES:start], blob[start:], None).decode()

    def needs_rotation(self, blob: bytes | memoryview | None) -> bool:
        return bool(blob) and bytes(blob[:KEY_ID_BYTES]) != self._primary_id

    def blind_index(self, value: str | None) -> str | None:
        if not value:
            return None
        return hmac.new(self._blind_key, value.encode(), hashlib.sha256).hexdigest()[:32]


@lru_cache(maxsize=1)
def cipher() -> FieldCipher:
    configured = settings.FIELD_ENCRYPTION_KEYS
    keys = [_decode_key(k) for k in configured] if configured else [_derive(b"tuanju-field-key")]
    blind = settings.BLIND_INDEX_KEY.encode() if settings.BLIND_INDEX_KEY else _derive(b"tuanju-blind-index")
    return FieldCipher(keys, blind)


def mask_resident_id(number: str) -> str:
    """'330782199903051234' -> '330782********1234'."""
    if not number:
        return ""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """'13812345678' -> '138****5678'."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
