"""One-click acknowledgement links: signed, expiring, naming one notification."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

_MAC_BYTES = 16


class BadLink(Exception):
    """A link that is not genuine, or no longer current; the message says which, in Chinese."""


@dataclass(frozen=True)
class AckLinks:
    """Make and read the links a message carries."""

    public_url: str
    signing_key: bytes
    ttl: dt.timedelta = dt.timedelta(hours=72)

    def url(self, notification_id: str, *, issued_at: dt.datetime) -> str:
        """A signed one-click acknowledgement link, good for the link lifetime from `issued_at`."""
        expires = int((issued_at + self.ttl).timestamp())
        claim = f"{notification_id}.{expires}"
        mac = hmac.new(self.signing_key, claim.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
        token = base64.urlsafe_b64encode(claim.encode() + b"." + mac).decode().rstrip("=")
        return f"{self.public_url.rstrip('/')}/ack/{token}"

    def read(self, token: str, *, now: dt.datetime) -> str:
        """The notification id a link token names, if its signature holds and it is current."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            # The MAC is the last 16 bytes, raw: it may itself contain a ".".
            claim, separator, mac = (
                raw[: -_MAC_BYTES - 1],
                raw[-_MAC_BYTES - 1 : -_MAC_BYTES],
                raw[-_MAC_BYTES:],
            )
            if separator != b"." or len(mac) != _MAC_BYTES:
                raise ValueError("malformed token")
            notification_id, expires = claim.decode().rsplit(".", 1)
            expected = hmac.new(self.signing_key, claim, hashlib.sha256).digest()[:_MAC_BYTES]
            valid = hmac.compare_digest(mac, expected)
            current = int(expires) >= now.timestamp()
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadLink("此确认链接无效（this acknowledgement link is not valid）") from exc
        if not valid:
            raise BadLink("此确认链接无效（this acknowledgement link is not valid）")
        if not current:
            raise BadLink(
                "此确认链接已过期，请登录系统确认（this acknowledgement link has expired; "
                "acknowledge in the API or the console）"
            )
        return notification_id
