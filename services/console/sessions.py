"""Console sessions: a random cookie (stored only as its hash) with a CSRF token of its own."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.console.domain import session_alive
from services.console.tables import StaffSession, StaffUser

COOKIE = "lw_session"
PRE_COOKIE = "lw_pre"  # before sign-in: ties the login form's CSRF token to this browser


@dataclass(frozen=True)
class Signed:
    """A live session and its user."""

    user: StaffUser
    csrf: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def start(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> str:
    """Open a session for the user; return the cookie's value (never stored)."""
    value = secrets.token_urlsafe(32)
    now = _now()
    async with sessionmaker.begin() as session:
        session.add(
            StaffSession(
                id_hash=_hash(value),
                user_id=user_id,
                csrf=secrets.token_urlsafe(24),
                created_at=now,
                last_seen_at=now,
            )
        )
    return value


async def load(sessionmaker: async_sessionmaker[AsyncSession], value: str | None) -> Signed | None:
    """The session of a cookie, if it stands (and its user is enabled); used now."""
    if not value:
        return None
    now = _now()
    async with sessionmaker.begin() as session:
        row = await session.get(StaffSession, _hash(value))
        if row is None:
            return None
        user = await session.get(StaffUser, row.user_id)
        alive = session_alive(created=row.created_at, last_seen=row.last_seen_at, now=now)
        if user is None or user.disabled_at is not None or not alive:
            await session.delete(row)
            return None
        # Written at most once a minute: a page's several requests cost one write.
        if now - row.last_seen_at > dt.timedelta(minutes=1):
            row.last_seen_at = now
        return Signed(user=user, csrf=row.csrf)


async def end(sessionmaker: async_sessionmaker[AsyncSession], value: str | None) -> None:
    """End a session (sign out)."""
    if value:
        async with sessionmaker.begin() as session:
            await session.execute(delete(StaffSession).where(StaffSession.id_hash == _hash(value)))


async def end_all(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> None:
    """End every session of a user (after a password change, before a new one starts)."""
    async with sessionmaker.begin() as session:
        await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


def login_csrf(key: bytes, pre: str) -> str:
    """The login form's CSRF token: bound to this browser's pre-session cookie."""
    return hmac.new(key, b"login:" + pre.encode(), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Compare two tokens in constant time (None never matches)."""
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())
