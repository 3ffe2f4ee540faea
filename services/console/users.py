"""Staff users: made by the CLI with a one-time password, signed in with argon2 hashes.

Every change that must void the user's API tokens (disable, new password) bumps the user's
generation in `staff_credentials` (libs.common.stafftokens) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.auth import KeyError_, Role, checked_scope
from libs.common.jurisdictions import Registry
from libs.common.stafftokens import StaffCredential
from services.console.domain import ONE_TIME_PASSWORD_TTL, Failures, password_problem
from services.console.tables import Lockout, SignIn, StaffSession, StaffUser

_hasher = PasswordHasher()
# Verified when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user that cannot be made or changed as asked (the message is for people)."""


@dataclass(frozen=True)
class SignInResult:
    """How a sign-in ended: the user, or why not ('wrong', 'locked', 'expired')."""

    user: StaffUser | None
    outcome: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create_user(
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: Registry,
    *,
    name: str,
    role: Role,
    jurisdiction: str | None = None,
    body_id: str | None = None,
) -> tuple[StaffUser, str]:
    """Make a user; return it and its one-time password (valid 72 h, never stored)."""
    name = name.strip()
    if not name:
        raise UserError("a user needs a name")
    try:
        jurisdiction = checked_scope(registry, role, jurisdiction, body_id, what="user")
    except KeyError_ as exc:
        raise UserError(str(exc)) from exc
    password = secrets.token_urlsafe(12)
    now = _now()
    user = StaffUser(
        id=str(uuid.uuid4()),
        name=name,
        role=role.value,
        jurisdiction=jurisdiction,
        body_id=body_id,
        password_hash=_hasher.hash(password),
        must_change=True,
        password_expires_at=now + ONE_TIME_PASSWORD_TTL,
        generation=1,
        created_at=now,
    )
    async with sessionmaker.begin() as session:
        if await session.scalar(select(StaffUser.id).where(StaffUser.name == name)):
            raise UserError(f"a user named {name!r} exists")
        session.add(user)
        session.add(StaffCredential(user_id=user.id, generation=1, active=True, changed_at=now))
    return user, password


async def list_users(sessionmaker: async_sessionmaker[AsyncSession]) -> list[StaffUser]:
    """Every user, by name."""
    async with sessionmaker() as session:
        return list((await session.scalars(select(StaffUser).order_by(StaffUser.name))).all())


async def get_user(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: str
) -> StaffUser | None:
    """One user by id."""
    async with sessionmaker() as session:
        return await session.get(StaffUser, user_id)


async def _bump(session: AsyncSession, user: StaffUser, *, active: bool) -> None:
    """Void the user's tokens: a new generation, here and in staff_credentials."""
    user.generation += 1
    cred = await session.get(StaffCredential, user.id)
    if cred is None:
        cred = StaffCredential(user_id=user.id)
        session.add(cred)
    cred.generation = user.generation
    cred.active = active
    cred.changed_at = _now()


async def disable_user(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> bool:
    """Disable a user by name: sessions ended, tokens void. Say whether one was disabled."""
    async with sessionmaker.begin() as session:
        user = await session.scalar(select(StaffUser).where(StaffUser.name == name))
        if user is None or user.disabled_at is not None:
            return False
        user.disabled_at = _now()
        await _bump(session, user, active=False)
        await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
        return True


async def unlock_user(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> int:
    """Lift a user's lockouts at every address; return how many were lifted."""
    async with sessionmaker.begin() as session:
        result = await session.execute(delete(Lockout).where(Lockout.user_name == name))
        return int(result.rowcount)  # type: ignore[attr-defined]


async def _failures(session: AsyncSession, name: str, address: str) -> Lockout:
    row = await session.get(Lockout, (name, address))
    if row is None:
        row = Lockout(user_name=name, address=address, failures=0, locked_until=None)
        session.add(row)
    return row


async def sign_in(
    sessionmaker: async_sessionmaker[AsyncSession], *, name: str, password: str, address: str
) -> SignInResult:
    """Check a name and password from an address, counting failures and auditing the try."""
    now = _now()
    name = name[:100]  # no user has a longer name; the lockout row's key holds 100
    async with sessionmaker.begin() as session:
        lock = await _failures(session, name, address)
        state = Failures(lock.failures, lock.locked_until)
        user = await session.scalar(select(StaffUser).where(StaffUser.name == name))
        if state.locked(now):
            outcome = "locked"
        elif not _verify(user, password) or user is None or user.disabled_at is not None:
            state = state.after_failure(now)
            lock.failures, lock.locked_until = state.count, state.locked_until
            outcome = "locked" if state.locked(now) else "wrong"
        elif user.password_expires_at is not None and user.password_expires_at <= now:
            outcome = "expired"
        else:
            lock.failures, lock.locked_until = 0, None
            outcome = "ok"
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
        session.add(SignIn(at=now, user_name=name, address=address, outcome=outcome))
        return SignInResult(user=user if outcome == "ok" else None, outcome=outcome)


def _verify(user: StaffUser | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY, password) and bool(user)
    except (VerificationError, InvalidHashError):
        return False


async def change_password(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: str, *, old: str, new: str
) -> str | None:
    """Set a new password; return what is wrong (in Chinese) or None when done."""
    async with sessionmaker.begin() as session:
        user = await session.get(StaffUser, user_id)
        if user is None or user.disabled_at is not None:
            return "用户不存在或已停用"
        if not _verify(user, old):
            return "原密码不正确"
        problem = password_problem(new, name=user.name, old=old)
        if problem:
            return problem
        user.password_hash = _hasher.hash(new)
        user.must_change = False
        user.password_expires_at = None
        await _bump(session, user, active=True)
        return None
