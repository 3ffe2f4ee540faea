"""The console's own tables: staff users, their sessions, lockouts and the sign-in audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from libs.common.db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class StaffUser(Base):
    """A person who signs in to the console; role and scope as an API key's."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    body_id: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(200))
    # A one-time password (made by `users create`) must be changed at first sign-in, and
    # stops working when it expires.
    must_change: Mapped[bool] = mapped_column(Boolean, default=True)
    password_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A signed-in browser: stored by the SHA-256 of its cookie, with its CSRF token."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Lockout(Base):
    """Failures in a row for one account from one address, and until when it waits there."""

    __tablename__ = "console_lockouts"

    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignIn(Base):
    """The sign-in audit: every attempt, its address and how it ended."""

    __tablename__ = "console_sign_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_console_sign_ins_user_at", "user_name", "at"),)
