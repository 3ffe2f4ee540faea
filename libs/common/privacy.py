"""Personal data: encrypted at rest (AES-256-GCM, key derived from SECRET_KEY), masked on output."""

from __future__ import annotations

import base64
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12


class Cipher:
    """Encrypt and decrypt short texts; each value carries its own random nonce."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"laborwatch personal data v1"
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt; `context` (e.g. the table and column) is bound as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        """Decrypt a value made by `encrypt` with the same context."""
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise ValueError(f"unknown ciphertext version {version!r}")
        raw = base64.urlsafe_b64decode(body)
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode()


def mask_phone(phone: str) -> str:
    """Mask a phone number: 13800138000 → 138****8000."""
    digits = phone.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_name(name: str) -> str:
    """Mask a personal name, keeping the family name: 张三 → 张*."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


# Mainland mobile numbers (11 digits from 1[3-9], perhaps after +86 and in groups: `+86 135 9999
# 0002`), landlines with their area code (`0431-88886666`) and 18-character identity numbers.
_MOBILE = re.compile(r"(?<![\d*])(1[3-9]\d)([ -]?)\d{4}([ -]?)(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d*])(0\d{2,3})([ -]?)\d{3,4}(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """Mask phone and identity numbers anywhere in free text (log lines, summaries)."""
    text = _ID_CARD.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    text = _MOBILE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(3) + m.group(4), text)
    return _LANDLINE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(3), text)


def seal_text(cipher: Cipher, text: str | None, *, context: str) -> str | None:
    """Free text that may hold personal data, encrypted for storage (None stays None)."""
    return None if text is None else cipher.encrypt(text, context=context)


def open_text(cipher: Cipher, stored: str | None, *, context: str) -> str | None:
    """Free text as `seal_text` stored it; a value that is not sealed (written before sealing,
    by an older version) is returned as it is."""
    if stored is None or not stored.startswith(_VERSION + ":"):
        return stored
    try:
        return cipher.decrypt(stored, context=context)
    except (ValueError, InvalidTag):
        return stored
