"""The console's rules on staff users, as pure functions: lockout, sessions, passwords."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAX_FAILURES = 10  # failures in a row for one account from one address…
LOCK_FOR = dt.timedelta(minutes=15)  # …make it wait this long there
IDLE_LIMIT = dt.timedelta(minutes=30)
SESSION_LIMIT = dt.timedelta(hours=12)
ONE_TIME_PASSWORD_TTL = dt.timedelta(hours=72)
TOKEN_TTL = dt.timedelta(minutes=5)  # the API token the console signs for each request
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Failures:
    """An account's failures in a row from one address, and until when it waits there."""

    count: int
    locked_until: dt.datetime | None

    def locked(self, now: dt.datetime) -> bool:
        """Say whether the account waits at this address now."""
        return self.locked_until is not None and now < self.locked_until

    def after_failure(self, now: dt.datetime) -> Failures:
        """One more failure; the tenth in a row locks for LOCK_FOR and starts counting anew."""
        count = self.count + 1
        if count >= MAX_FAILURES:
            return Failures(count=0, locked_until=now + LOCK_FOR)
        return Failures(count=count, locked_until=self.locked_until)


def session_alive(*, created: dt.datetime, last_seen: dt.datetime, now: dt.datetime) -> bool:
    """Say whether a session still stands: used within IDLE_LIMIT, younger than SESSION_LIMIT."""
    return now - last_seen < IDLE_LIMIT and now - created < SESSION_LIMIT


def password_problem(password: str, *, name: str, old: str | None = None) -> str | None:
    """What is wrong with a new password, in Chinese; None when it will do."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符"
    if name and name.lower() in password.lower():
        return "密码不能包含用户名"
    if old is not None and password == old:
        return "新密码不能与原密码相同"
    if len(set(password)) < 4:
        return "密码过于简单"
    return None
