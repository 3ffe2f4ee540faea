"""Short-lived tokens for staff users: the second kind of credential beside API keys.

The console signs a token for the signed-in user and calls the services' `/v1` API with it,
so that each service applies the user's own role and scope (it holds no master key). A token
is `lwu_<payload>.<signature>`: the payload names the user, role, jurisdiction, body, a
generation number and an expiry (at most 15 minutes); the signature is an HMAC-SHA256 under a
key derived from SECRET_KEY.

libs/common imports no service, so it cannot read the console's users. Instead the console
keeps one row per user in `staff_credentials` (owned here): the user's current generation and
whether the user is active. Disabling a user or changing a password bumps the generation, so
every token signed before is void at once (within the key cache's few seconds).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from sqlalchemy import Boolean, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime

TOKEN_PREFIX = "lwu_"  # noqa: S105 (a prefix, not a secret)
MAX_TTL = dt.timedelta(minutes=15)


class StaffCredential(Base):
    """A staff user's token generation: a token of another generation is void."""

    __tablename__ = "staff_credentials"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class StaffClaims:
    """What a token says about its user."""

    user_id: str
    name: str
    role: str
    jurisdiction: str | None
    body_id: str | None
    generation: int
    expires_at: dt.datetime


def signing_key(secret_key: str) -> bytes:
    """The tokens' key, derived so that a token never exposes SECRET_KEY's other uses."""
    return hashlib.sha256(b"staff-token:" + secret_key.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: StaffClaims, key: bytes) -> str:
    """Make a token of the claims."""
    payload = {
        "sub": claims.user_id,
        "name": claims.name,
        "role": claims.role,
        "jur": claims.jurisdiction,
        "body": claims.body_id,
        "gen": claims.generation,
        "exp": int(claims.expires_at.timestamp()),
    }
    body = _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return f"{TOKEN_PREFIX}{body}.{_b64(mac)}"


def verify(token: str, key: bytes, *, now: dt.datetime) -> StaffClaims | None:
    """The claims of a well-signed, unexpired token; None otherwise."""
    if not token.startswith(TOKEN_PREFIX) or token.count(".") != 1:
        return None
    body, mac = token.removeprefix(TOKEN_PREFIX).split(".")
    expected = hmac.new(key, body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        payload = json.loads(_unb64(body))
        expires = dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC)
        claims = StaffClaims(
            user_id=str(payload["sub"]),
            name=str(payload["name"]),
            role=str(payload["role"]),
            jurisdiction=payload["jur"],
            body_id=payload["body"],
            generation=int(payload["gen"]),
            expires_at=expires,
        )
    except (ValueError, KeyError, TypeError):
        return None
    # A token living longer than the limit was not made by us (or by a misconfigured signer).
    if expires <= now or expires - now > MAX_TTL + dt.timedelta(seconds=5):
        return None
    return claims


async def is_current(sessionmaker: async_sessionmaker[AsyncSession], claims: StaffClaims) -> bool:
    """Say whether the token's user is active and the token of the user's current generation."""
    async with sessionmaker() as session:
        row = await session.scalar(
            select(StaffCredential).where(StaffCredential.user_id == claims.user_id)
        )
    return row is not None and row.active and row.generation == claims.generation
