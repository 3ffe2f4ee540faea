"""Personal data kept out of logs and sealed at rest, masked wherever it is shown (issue 12,
"Personal data"), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import os
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, text

from laborwatch.migrate import alembic_config, upgrade
from libs.common.db import create_engine
from libs.common.logs import log_handler
from libs.common.privacy import Cipher, open_text
from services.intake.tables import Report
from tests.conftest import SECRET, Running, empty_pg_database, eventually, submit
from tests.integration.test_notifier_api import changchun_blue, incident_id_of, notifications_of
from tests.integration.test_reports_api import a_report, outbox_drained, received_events

PHONES = {
    "13912345678": "139****5678",
    "0431-88886666": "0431-****6666",
    "+86 135 9999 0002": "+86 135 **** 0002",
}
ID_NUMBER = "220102199001011234"
FREE_TEXT = "联系人" + "，".join(PHONES) + "，身份证" + ID_NUMBER


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """What the process's own log handler (JSON lines, scrubbed) writes during the test."""
    stream = io.StringIO()
    handler = log_handler(json=True, stream=stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def test_a_failing_statement_names_no_bound_value(system: Running) -> None:
    async with system.runtime.engine.connect() as conn:
        with pytest.raises(sa_exc.DBAPIError) as failed:
            await conn.execute(text("SELECT * FROM no_such_table WHERE p = :p"), {"p": ID_NUMBER})
    assert ID_NUMBER not in str(failed.value)


async def test_an_unexpected_error_is_logged_with_its_request_id_and_no_personal_data(
    system: Running, logged: io.StringIO
) -> None:
    app: FastAPI = system.app

    async def fails() -> None:
        raise ValueError("nowhere to put 13912345678")  # a message with a phone in it

    app.add_api_route("/v1/_fails", fails)
    try:
        r = await system.client.get("/v1/_fails", headers={"X-Request-ID": "req-12-personal"})
    finally:
        app.router.routes.pop()
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["connection"] == "close"
    assert r.headers["x-request-id"] == "req-12-personal"
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert errors and all(e["request_id"] == "req-12-personal" for e in errors), lines
    assert "13912345678" not in logged.getvalue()
    assert "nowhere" in logged.getvalue()  # the traceback is there, the value is not


def test_a_one_click_token_never_reaches_the_access_log(logged: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.INFO)
    # What uvicorn's access logger writes for each request.
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5", "GET", "/ack/tok.EN-sig_1", "1.1", 200)
    assert "tok.EN-sig_1" not in logged.getvalue()
    assert "/ack/***" in logged.getvalue()


async def test_free_text_is_sealed_at_rest_and_masked_in_responses_and_events(
    system: Running,
) -> None:
    body = a_report(summary=FREE_TEXT, demands=FREE_TEXT, location=FREE_TEXT)
    r = await system.client.post("/v1/reports", json=body, headers=system.auth("reporter"))
    assert r.status_code == 202, r.text
    report_id = r.json()["id"]
    async with system.runtime.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT summary, demands, location FROM intake_reports WHERE id = :id"),
                {"id": report_id},
            )
        ).one()
    for stored in row:
        assert "联系人" not in stored and ID_NUMBER not in stored
    got = await system.client.get(f"/v1/reports/{report_id}", headers=system.auth())
    await eventually(lambda: outbox_drained(system))
    [event] = await received_events(system, report_id)
    shown = [got.json()[n] for n in ("summary", "demands", "location")]
    shown += [orjson.loads(event.payload)["data"]["report"]["summary"]]
    for text_ in shown:
        assert ID_NUMBER not in text_ and "220102********1234" in text_
        for phone, masked in PHONES.items():
            assert phone not in text_ and masked in text_


def test_the_sqlite_file_is_made_readable_by_its_owner_alone(tmp_path: Path) -> None:
    path = tmp_path / "var" / "private.db"
    create_engine(f"sqlite+aiosqlite:///{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# ------------------------------------------------------------------ the sealing migration


def a_stored_report(report_id: str) -> dict[str, object]:
    """A report row as intake wrote it before free text was sealed."""
    at = dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.UTC)
    return {
        "id": report_id,
        "channel": "rest",
        "source": "agency",
        "source_ref": None,
        "sender": "k",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "affected_regions": ["chaoyang"],
        "occurred_at": at,
        "received_at": at,
        "enterprise_name": "长春某公司",
        "category": "wage_arrears",
        "workers_involved": 3,
        "amount_yuan": Decimal(0),
        "terminations": 0,
        "collective_action": "none",
        "extreme_individual": False,
        "potential_major_impact": False,
        "summary": FREE_TEXT,
        "demands": None,
        "location": "朝阳区 13912345678",
    }


async def _insert_and_read(url: str, row: dict[str, object] | None) -> dict[str, object]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if row is not None:
                await conn.execute(insert(Report), [row])
            found = await conn.execute(
                text("SELECT summary, demands, location FROM intake_reports")
            )
            return dict(found.one()._mapping)
    finally:
        await engine.dispose()


def _upgrade_seals_the_free_text(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    command.upgrade(alembic_config(url), "0008")
    asyncio.run(_insert_and_read(url, a_stored_report("r1")))
    monkeypatch.setenv("LABORWATCH_SECRET_KEY", SECRET)
    upgrade(url)
    stored = asyncio.run(_insert_and_read(url, None))
    assert stored["demands"] is None
    cipher = Cipher(SECRET)
    for name in ("summary", "location"):
        value = stored[name]
        assert isinstance(value, str) and "13912345678" not in value
        assert (
            open_text(cipher, value, context=f"intake_reports.{name}")
            == (a_stored_report("r1")[name])
        )
    command.downgrade(alembic_config(url), "0008")
    assert asyncio.run(_insert_and_read(url, None))["summary"] == FREE_TEXT


def test_the_migration_seals_existing_free_text_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upgrade_seals_the_free_text(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", monkeypatch)


@pytest.mark.postgres
def test_the_migration_seals_existing_free_text_on_postgres(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with empty_pg_database("laborwatch_seal") as url:
        _upgrade_seals_the_free_text(url, monkeypatch)


async def test_an_acknowledgement_note_is_masked_where_it_is_shown(embedded: Running) -> None:
    system = embedded
    incident_id = await incident_id_of(system, await submit(system, changchun_blue()))
    (n,) = await notifications_of(system, incident_id)
    ack = await system.client.post(
        f"/v1/notifications/{n['id']}/ack",
        json={"note": "已联系，工人代表电话0431-88886666"},
        headers=system.auth("responder"),
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["acknowledgement"]["note"] == "已联系，工人代表电话0431-****6666"

    async def in_timeline() -> list[str]:
        got = await system.client.get(f"/v1/incidents/{incident_id}", headers=system.auth())
        timeline = got.json()["timeline"]
        return [e["note"] for e in timeline if e["kind"] == "notification_acknowledged"]

    assert await eventually(in_timeline) == ["已联系，工人代表电话0431-****6666"]
