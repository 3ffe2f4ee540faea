"""The console's users store on both databases: sign-in outcomes, the lockout per account and
address, the audit, and a password change voiding the user's tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from libs.common.auth import Role
from libs.common.runtime import Runtime
from libs.common.stafftokens import StaffCredential
from services.console.tables import SignIn
from services.console.users import (
    change_password,
    create_user,
    disable_user,
    sign_in,
    unlock_user,
)
from tests.conftest import make_settings, truncate_all

# PostgreSQL's database is made before any async fixture runs (it is made with asyncio.run).
pytestmark = pytest.mark.usefixtures("pg_url")


@pytest.fixture(params=["sqlite", "postgres"])
async def runtime(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[Runtime]:
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    made = Runtime.from_settings(make_settings(database_url=url))
    await truncate_all(made)
    try:
        yield made
    finally:
        await made.engine.dispose()


async def test_ten_failures_from_one_address_lock_only_there(runtime: Runtime) -> None:
    db = runtime.sessionmaker
    user, password = await create_user(db, runtime.registry, name="李娜", role=Role.ADMIN)
    for _ in range(9):
        assert (await sign_in(db, name="李娜", password="x", address="10.0.0.1")).outcome == "wrong"
    assert (await sign_in(db, name="李娜", password="x", address="10.0.0.1")).outcome == "locked"
    held = await sign_in(db, name="李娜", password=password, address="10.0.0.1")
    assert held.outcome == "locked" and held.user is None
    # Another address is not locked out.
    ok = await sign_in(db, name="李娜", password=password, address="10.0.0.2")
    assert ok.outcome == "ok" and ok.user is not None and ok.user.id == user.id
    assert await unlock_user(db, "李娜") >= 1
    assert (await sign_in(db, name="李娜", password=password, address="10.0.0.1")).outcome == "ok"
    async with db() as session:
        outcomes = list(await session.scalars(select(SignIn.outcome).order_by(SignIn.id)))
    assert outcomes == ["wrong"] * 9 + ["locked", "locked", "ok", "ok"]


async def test_a_new_password_and_a_disable_each_start_a_new_token_generation(
    runtime: Runtime,
) -> None:
    db = runtime.sessionmaker
    user, password = await create_user(
        db, runtime.registry, name="王强", role=Role.RESPONDER, body_id="xuanen.county.tripartite"
    )
    assert user.jurisdiction == "xuanen" and user.must_change
    assert await change_password(db, user.id, old="wrong", new="x") == "原密码不正确"
    assert await change_password(db, user.id, old=password, new="short") == "密码至少 10 个字符"
    assert await change_password(db, user.id, old=password, new="宣恩县三方机制-2026") is None
    async with db() as session:
        cred = await session.get(StaffCredential, user.id)
        assert cred is not None and cred.generation == 2 and cred.active
    assert (await sign_in(db, name="王强", password=password, address="a")).outcome == "wrong"
    assert (await sign_in(db, name="王强", password="宣恩县三方机制-2026", address="a")).user
    assert await disable_user(db, "王强")
    async with db() as session:
        cred = await session.get(StaffCredential, user.id)
        assert cred is not None and cred.generation == 3 and not cred.active
    assert (
        await sign_in(db, name="王强", password="宣恩县三方机制-2026", address="a")
    ).user is None
