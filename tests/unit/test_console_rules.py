"""The console's rules on staff users: lockout, sessions, passwords, staff tokens."""

from __future__ import annotations

import datetime as dt

from libs.common.stafftokens import StaffClaims, sign, signing_key, verify
from services.console.client import Connector, ServiceUrls
from services.console.domain import (
    LOCK_FOR,
    Failures,
    password_problem,
    session_alive,
)
from services.console.tables import StaffUser

NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def test_the_tenth_failure_in_a_row_locks_for_fifteen_minutes() -> None:
    f = Failures(count=0, locked_until=None)
    for _ in range(9):
        f = f.after_failure(NOW)
        assert not f.locked(NOW)
    f = f.after_failure(NOW)
    assert f.locked(NOW)
    assert f.locked(NOW + LOCK_FOR - dt.timedelta(seconds=1))
    assert not f.locked(NOW + LOCK_FOR)


def test_a_session_ends_after_thirty_idle_minutes_or_twelve_hours() -> None:
    start = NOW
    assert session_alive(created=start, last_seen=NOW, now=NOW + dt.timedelta(minutes=29))
    assert not session_alive(created=start, last_seen=NOW, now=NOW + dt.timedelta(minutes=30))
    late = NOW + dt.timedelta(hours=12)
    assert not session_alive(created=start, last_seen=late, now=late)


def test_weak_passwords_are_named_in_chinese() -> None:
    assert password_problem("short", name="wang") == "密码至少 10 个字符"
    assert password_problem("wang-1234567", name="wang") == "密码不能包含用户名"
    assert password_problem("aaaaaaaaaaaa", name="li") == "密码过于简单"
    assert password_problem("same-password-1", name="li", old="same-password-1") is not None
    assert password_problem("长春市劳动关系2026!", name="li") is None


def _claims(**overrides: object) -> StaffClaims:
    values: dict[str, object] = {
        "user_id": "u1",
        "name": "王芳",
        "role": "responder",
        "jurisdiction": "changchun",
        "body_id": "changchun.leading_group_office",
        "generation": 3,
        "expires_at": NOW + dt.timedelta(minutes=5),
    }
    values.update(overrides)
    return StaffClaims(**values)  # type: ignore[arg-type]


def test_a_staff_token_verifies_with_its_key_only_and_until_it_expires() -> None:
    key = signing_key("k" * 40)
    token = sign(_claims(), key)
    assert token.startswith("lwu_")
    claims = verify(token, key, now=NOW)
    assert claims is not None and claims.name == "王芳" and claims.generation == 3
    assert verify(token, signing_key("x" * 40), now=NOW) is None
    assert verify(token, key, now=NOW + dt.timedelta(minutes=5)) is None
    body, mac = token.split(".")
    assert verify(body[:-2] + "xx." + mac, key, now=NOW) is None


def test_a_token_living_longer_than_fifteen_minutes_is_refused() -> None:
    key = signing_key("k" * 40)
    token = sign(_claims(expires_at=NOW + dt.timedelta(hours=1)), key)
    assert verify(token, key, now=NOW) is None


async def test_the_console_reuses_a_users_token_until_its_generation_changes() -> None:
    connector = Connector(ServiceUrls(), signing_key("k" * 40))
    try:
        user = StaffUser(id="u1", name="王芳", role="analyst", jurisdiction="changchun",
                         body_id=None, generation=1)  # fmt: skip
        first = connector._token(user)
        assert connector._token(user) == first
        user.generation = 2
        second = connector._token(user)
        assert second != first
        claims = verify(second, signing_key("k" * 40), now=dt.datetime.now(dt.UTC))
        assert claims is not None and claims.generation == 2
    finally:
        await connector.close()
