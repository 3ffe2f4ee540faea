"""POST/GET /v1/reports: acceptance, masking, encryption at rest, idempotency, validation,
listing and scopes, and the `report.received` event (CONTRACT.md, "Reports (intake)")."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text

from libs.common.events import REPORT_RECEIVED
from libs.common.tables import BusMessage
from services.intake.tables import IdempotencyKey, Report
from tests.conftest import Running, assert_problem, eventually

VALID_CODE = "91350100M000100Y43"
OTHER_VALID_CODE = "91110000600037341L"
BAD_CHECK_CODE = "91350100M000100Y42"  # VALID_CODE with the wrong check character
PHONE = "13800138000"
NAME = "李雷"


def when(delta: dt.timedelta = dt.timedelta(days=-1)) -> str:
    """An ISO time with a +08:00 offset, relative to now."""
    tz = dt.timezone(dt.timedelta(hours=8))
    return (dt.datetime.now(tz) + delta).isoformat(timespec="seconds")


# One time for every body, so that two bodies built apart are the same request.
OCCURRED = when()


def a_report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "agency",
        "jurisdiction": "changchun",
        "region": "chaoyang",
        "occurred_at": OCCURRED,
        "enterprise": {
            "name": "长春某建筑劳务有限公司",
            "credit_code": VALID_CODE,
            "industry": "construction",
        },
        "category": "wage_arrears",
        "workers_involved": 35,
        "amount_yuan": "1200000.00",
        "terminations": 0,
        "collective_action": "possible",
        "summary": "拖欠35名农民工工资约120万元，联系人电话13912345678",
        "reporter": {"name": NAME, "phone": PHONE},
    }
    body.update(overrides)
    return body


async def counts(r: Running) -> dict[str, int]:
    """Rows intake could write: reports, idempotency keys and report.received events."""
    async with r.runtime.sessionmaker() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
        keys = await session.scalar(select(func.count()).select_from(IdempotencyKey))
        # One statement, one snapshot: the relay moves a row from outbox to bus atomically.
        events = await session.scalar(
            text(
                "SELECT (SELECT count(*) FROM outbox WHERE topic = :t)"
                " + (SELECT count(*) FROM bus_messages WHERE topic = :t)"
            ),
            {"t": REPORT_RECEIVED},
        )
    return {"reports": int(reports or 0), "keys": int(keys or 0), "events": int(events or 0)}


async def post(r: Running, body: Any, role: str = "reporter", **headers: str) -> httpx.Response:
    return await r.client.post("/v1/reports", json=body, headers={**r.auth(role), **headers})


async def received_events(r: Running, report_id: str) -> list[BusMessage]:
    """The bus messages of report.received that carry the report."""
    async with r.runtime.sessionmaker() as session:
        rows = (
            await session.execute(select(BusMessage).where(BusMessage.topic == REPORT_RECEIVED))
        ).scalars()
        return [m for m in rows if orjson.loads(m.payload)["data"]["report"]["id"] == report_id]


async def outbox_drained(r: Running) -> bool:
    async with r.runtime.sessionmaker() as session:
        pending = await session.scalar(
            text("SELECT count(*) FROM outbox WHERE topic = :t"), {"t": REPORT_RECEIVED}
        )
    return bool(pending == 0)


# ----------------------------------------------------------------------------- acceptance


async def test_accepts_a_report_and_reads_it_back_masked(lw: Running) -> None:
    body = a_report(source_ref="HR-2026-000123")
    r = await post(lw, body)
    assert r.status_code == 202, r.text
    created = r.json()
    assert created["status"] == "received"
    report_id = created["id"]
    uuid.UUID(report_id)
    assert r.headers["location"] == f"/v1/reports/{report_id}"
    assert created["incident_id"] is None

    got = await lw.client.get(r.headers["location"], headers=lw.auth("reporter"))
    assert got.status_code == 200, got.text
    out = got.json()
    assert out["id"] == report_id
    assert out["status"] == "received"
    assert out["channel"] == "rest"
    assert out["source"] == "agency"
    assert out["source_ref"] == "HR-2026-000123"
    assert (out["jurisdiction"], out["region"]) == ("changchun", "chaoyang")
    assert out["affected_regions"] == ["chaoyang"]  # defaults to [region]
    assert out["enterprise"] == body["enterprise"]
    assert out["category"] == "wage_arrears"
    assert out["workers_involved"] == 35
    assert Decimal(str(out["amount_yuan"])) == Decimal("1200000.00")
    assert out["collective_action"] == "possible"
    assert dt.datetime.fromisoformat(out["occurred_at"]) == dt.datetime.fromisoformat(
        body["occurred_at"]
    )
    received = dt.datetime.fromisoformat(out["received_at"])
    assert received.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - received) < dt.timedelta(minutes=1)
    assert "incident_id" in out

    # Personal data is masked; phone numbers in free text are redacted.
    assert out["reporter"] == {"name": "李*", "phone": "138****8000"}
    assert "13912345678" not in out["summary"]
    assert "139****5678" in out["summary"]
    assert "拖欠35名农民工工资" in out["summary"]
    assert PHONE not in got.text
    assert NAME not in got.text


async def test_a_report_without_reporter_or_optional_fields(lw: Running) -> None:
    body = {
        "source": "inspection",
        "jurisdiction": "xuanen",
        "region": "gaoluo",
        "occurred_at": when(),
        "enterprise": {"name": "宣恩某公司"},
        "category": "layoff",
    }
    r = await post(lw, body, role="admin")
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["reporter"] is None
    assert out["workers_involved"] == 0
    assert Decimal(str(out["amount_yuan"])) == 0
    assert out["terminations"] == 0
    assert out["collective_action"] == "none"
    assert out["affected_regions"] == ["gaoluo"]
    assert out["enterprise"]["credit_code"] is None


async def test_affected_regions_are_kept_when_given(lw: Running) -> None:
    r = await post(lw, a_report(affected_regions=["chaoyang", "nanguan", "erdao"]))
    assert r.status_code == 202, r.text
    got = await lw.client.get(f"/v1/reports/{r.json()['id']}", headers=lw.auth())
    assert got.json()["affected_regions"] == ["chaoyang", "nanguan", "erdao"]


async def test_personal_data_is_encrypted_at_rest(lw: Running) -> None:
    r = await post(lw, a_report())
    assert r.status_code == 202, r.text
    report_id = r.json()["id"]
    async with lw.runtime.sessionmaker() as session:
        row = (
            (
                await session.execute(
                    text("SELECT * FROM intake_reports WHERE id = :id"), {"id": report_id}
                )
            )
            .mappings()
            .one()
        )
    sealed = row["reporter_sealed"]
    assert isinstance(sealed, str)
    assert sealed
    # Neither the phone nor the name appears anywhere in the stored row.
    raw_row = " ".join(str(v) for v in row.values())
    assert PHONE not in raw_row
    assert NAME not in raw_row
    plain = orjson.loads(lw.runtime.cipher.decrypt(sealed, context="intake_reports.reporter"))
    assert plain == {"name": NAME, "phone": PHONE}


async def test_numbers_and_strings_for_amounts(lw: Running) -> None:
    as_string = await post(lw, a_report(amount_yuan="1200000.50"))
    as_number = await post(lw, a_report(amount_yuan=800000))
    as_float = await post(lw, a_report(amount_yuan=1234.5))
    for r in (as_string, as_number, as_float):
        assert r.status_code == 202, r.text
    assert Decimal(str(as_string.json()["amount_yuan"])) == Decimal("1200000.50")
    assert Decimal(str(as_number.json()["amount_yuan"])) == Decimal("800000")
    assert Decimal(str(as_float.json()["amount_yuan"])) == Decimal("1234.5")


async def test_a_lowercase_credit_code_is_accepted_and_uppercased(lw: Running) -> None:
    body = a_report()
    body["enterprise"]["credit_code"] = VALID_CODE.lower()
    r = await post(lw, body)
    assert r.status_code == 202, r.text
    got = await lw.client.get(f"/v1/reports/{r.json()['id']}", headers=lw.auth())
    assert got.json()["enterprise"]["credit_code"] == VALID_CODE


# --------------------------------------------------------------------------- idempotency


async def test_idempotency_key_replays_the_first_report(system: Running) -> None:
    body = a_report()
    key = f"idem-{uuid.uuid4()}"
    first = await post(system, body, **{"Idempotency-Key": key})
    assert first.status_code == 202, first.text
    before = await counts(system)
    again = await post(system, body, **{"Idempotency-Key": key})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"/v1/reports/{first.json()['id']}"
    assert await counts(system) == before
    assert before["reports"] == 1

    # The same key with another body is refused, and nothing is written.
    changed = await post(system, a_report(workers_involved=36), **{"Idempotency-Key": key})
    problem = assert_problem(changed, 409)
    assert "Idempotency-Key" in problem["detail"]
    assert await counts(system) == before

    # A different key is a different report.
    other = await post(system, body, **{"Idempotency-Key": key + "-2"})
    assert other.status_code == 202, other.text
    assert other.json()["id"] != first.json()["id"]


async def test_idempotency_keys_belong_to_one_api_key(lw: Running) -> None:
    key = "shared-key-name"
    mine = await post(lw, a_report(), role="reporter", **{"Idempotency-Key": key})
    theirs = await post(lw, a_report(), role="admin", **{"Idempotency-Key": key})
    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.json()["id"] != theirs.json()["id"]


async def test_same_source_ref_returns_the_first_report(system: Running) -> None:
    body = a_report(source_ref="HR-2026-000777")
    first = await post(system, body)
    assert first.status_code == 202, first.text
    before = await counts(system)
    # Even with other figures: the sender's id says it is the same report.
    again = await post(system, a_report(source_ref="HR-2026-000777", workers_involved=99))
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["workers_involved"] == 35
    assert await counts(system) == before

    # The same source_ref from another source is another report.
    other = await post(system, a_report(source="media", source_ref="HR-2026-000777"))
    assert other.status_code == 202, other.text
    assert other.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("identity", ["idempotency_key", "source_ref"])
async def test_concurrent_duplicates_make_one_report(system: Running, identity: str) -> None:
    """Ten identical requests at once make one report; the race is tried a few times over."""
    rounds = 3
    start = await counts(system)  # events of earlier tests stay on the bus
    for n in range(rounds):
        body = a_report()
        headers: dict[str, str] = {}
        if identity == "idempotency_key":
            headers["Idempotency-Key"] = f"race-{uuid.uuid4()}"
        else:
            body["source_ref"] = f"RACE-{uuid.uuid4().hex[:12]}"
        answers = await asyncio.gather(*(post(system, body, **headers) for _ in range(10)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * 9 + [202], (n, [a.text[:200] for a in answers])
        assert len({a.json()["id"] for a in answers}) == 1
        counted = await counts(system)
        assert counted["reports"] == n + 1, counted
        assert counted["events"] == start["events"] + n + 1, counted
        assert counted["keys"] == (n + 1 if identity == "idempotency_key" else 0), counted


# ---------------------------------------------------------------------------- validation


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for p in parents:
            target = target[p]
        target[last] = value

    return change


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        del body[name]

    return change


INVALID = [
    (
        "bad-check-char",
        _set("enterprise.credit_code", BAD_CHECK_CODE),
        ["body", "enterprise", "credit_code"],
    ),
    (
        "short-credit-code",
        _set("enterprise.credit_code", VALID_CODE[:17]),
        ["body", "enterprise", "credit_code"],
    ),
    (
        "credit-code-with-I",
        _set("enterprise.credit_code", "91350100MI00100Y43"),
        ["body", "enterprise", "credit_code"],
    ),
    ("region-of-another-jurisdiction", _set("region", "zhushan"), ["body", "region"]),
    ("unknown-region", _set("region", "atlantis"), ["body", "region"]),
    (
        "affected-region-outside",
        _set("affected_regions", ["chaoyang", "zhushan"]),
        ["body", "affected_regions", 1],
    ),
    ("unknown-jurisdiction", _set("jurisdiction", "beijing"), ["body", "jurisdiction"]),
    ("negative-workers", _set("workers_involved", -1), ["body", "workers_involved"]),
    ("negative-terminations", _set("terminations", -3), ["body", "terminations"]),
    ("negative-amount", _set("amount_yuan", "-0.01"), ["body", "amount_yuan"]),
    ("negative-amount-number", _set("amount_yuan", -5), ["body", "amount_yuan"]),
    ("amount-three-decimals", _set("amount_yuan", "1.001"), ["body", "amount_yuan"]),
    ("amount-not-a-number", _set("amount_yuan", "lots"), ["body", "amount_yuan"]),
    ("workers-as-string", _set("workers_involved", "35"), ["body", "workers_involved"]),
    ("workers-as-float", _set("workers_involved", 35.5), ["body", "workers_involved"]),
    ("naive-occurred-at", _set("occurred_at", "2026-11-20T09:30:00"), ["body", "occurred_at"]),
    (
        "future-occurred-at",
        _set("occurred_at", when(dt.timedelta(days=2))),
        ["body", "occurred_at"],
    ),
    ("unknown-category", _set("category", "wage_theft"), ["body", "category"]),
    ("unknown-source", _set("source", "rumour"), ["body", "source"]),
    (
        "unknown-collective-action",
        _set("collective_action", "maybe"),
        ["body", "collective_action"],
    ),
    ("unknown-extra-field", _set("priority", "high"), ["body", "priority"]),
    ("unknown-enterprise-field", _set("enterprise.owner", "x"), ["body", "enterprise", "owner"]),
    ("missing-enterprise", _drop("enterprise"), ["body", "enterprise"]),
    ("missing-occurred-at", _drop("occurred_at"), ["body", "occurred_at"]),
    ("bad-reporter-phone", _set("reporter.phone", "call me"), ["body", "reporter", "phone"]),
]


@pytest.mark.parametrize(
    ("change", "loc"), [pytest.param(c, loc, id=name) for name, c, loc in INVALID]
)
async def test_invalid_reports_are_422_and_write_nothing(
    lw: Running, change: Callable[[dict[str, Any]], None], loc: list[Any]
) -> None:
    body = a_report(source_ref=f"V-{uuid.uuid4().hex[:8]}")
    change(body)
    before = await counts(lw)
    r = await post(lw, body, **{"Idempotency-Key": f"k-{uuid.uuid4()}"})
    problem = assert_problem(r, 422)
    assert problem["errors"], problem
    assert all("msg" in e for e in problem["errors"])
    assert loc in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert await counts(lw) == before


async def test_a_valid_report_passes_the_validation_fixture(lw: Running) -> None:
    # The base body of the invalid cases is itself valid: each 422 is due to its one change.
    r = await post(lw, a_report(affected_regions=["chaoyang", "kuancheng"]))
    assert r.status_code == 202, r.text


async def test_malformed_json_is_400(lw: Running) -> None:
    before = await counts(lw)
    r = await lw.client.post(
        "/v1/reports",
        content=b'{"source": "agency",',
        headers={**lw.auth("reporter"), "content-type": "application/json"},
    )
    assert_problem(r, 400)
    assert await counts(lw) == before


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_does_not_say_it_is_json_is_415(
    lw: Running, content_type: str | None
) -> None:
    before = await counts(lw)
    headers = lw.auth("reporter") | ({"content-type": content_type} if content_type else {})
    r = await lw.client.post("/v1/reports", content=orjson.dumps(a_report()), headers=headers)
    assert_problem(r, 415)
    assert "application/json" in r.json()["detail"]
    assert await counts(lw) == before


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
async def test_json_media_types_with_parameters_or_suffixes_are_accepted(
    lw: Running, content_type: str
) -> None:
    headers = lw.auth("reporter") | {"content-type": content_type}
    r = await lw.client.post("/v1/reports", content=orjson.dumps(a_report()), headers=headers)
    assert r.status_code == 202, r.text


async def test_a_body_that_is_not_an_object_is_422(lw: Running) -> None:
    r = await post(lw, [a_report()])
    assert_problem(r, 422)


async def test_a_body_over_one_mebibyte_is_413(lw: Running) -> None:
    before = await counts(lw)
    body = a_report(summary="欠" * (1024 * 1024 // 3 + 10))  # ~1 MiB of UTF-8 alone
    r = await post(lw, body)
    assert_problem(r, 413)
    assert await counts(lw) == before


# ------------------------------------------------------------------------------- listing


async def test_listing_pages_through_every_report_once_newest_first(lw: Running) -> None:
    made = []
    for n in range(7):
        r = await post(lw, a_report(source_ref=f"PAGE-{n}"))
        assert r.status_code == 202, r.text
        made.append(r.json()["id"])
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await lw.client.get("/v1/reports", params=params, headers=lw.auth())
        assert page.status_code == 200, page.text
        pages += 1
        items = page.json()["items"]
        assert len(items) <= 3
        seen.extend(items)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 3
    ids = [i["id"] for i in seen]
    assert ids == list(reversed(made))  # newest first, each exactly once
    keys = [(dt.datetime.fromisoformat(i["received_at"]), i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True)


async def test_listing_a_page_of_exactly_the_limit_has_no_next_cursor(lw: Running) -> None:
    for n in range(3):
        assert (await post(lw, a_report(source_ref=f"EX-{n}"))).status_code == 202
    page = await lw.client.get("/v1/reports", params={"limit": 3}, headers=lw.auth())
    assert len(page.json()["items"]) == 3
    assert page.json()["next_cursor"] is None


async def test_listing_filters(lw: Running) -> None:
    specs = {
        "a": a_report(),
        "b": a_report(region="nanguan", category="social_insurance"),
        "c": a_report(source="media", category="social_insurance"),
        "d": a_report(jurisdiction="xuanen", region="zhushan"),
        "e": a_report(jurisdiction="xuanen", region="gaoluo", source="media"),
    }
    ids = {}
    for name, body in specs.items():
        r = await post(lw, body, role="admin")
        assert r.status_code == 202, r.text
        ids[name] = r.json()["id"]

    async def listed(**params: Any) -> set[str]:
        r = await lw.client.get("/v1/reports", params=params, headers=lw.auth())
        assert r.status_code == 200, r.text
        return {ids_by_value[i["id"]] for i in r.json()["items"]}

    ids_by_value = {v: k for k, v in ids.items()}
    assert await listed() == set(ids)
    assert await listed(jurisdiction="changchun") == {"a", "b", "c"}
    assert await listed(jurisdiction="xuanen") == {"d", "e"}
    assert await listed(region="nanguan") == {"b"}
    assert await listed(source="media") == {"c", "e"}
    assert await listed(category="social_insurance") == {"b", "c"}
    assert await listed(jurisdiction="changchun", source="media") == {"c"}
    assert await listed(jurisdiction="xuanen", category="social_insurance") == set()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "not-a-cursor!!",
    _b64("foobar"),
    "AAAA",
    _b64(f"yesterday|{uuid.uuid4()}"),
]


async def test_listing_by_time_received(lw: Running) -> None:
    first = await post(lw, a_report(source_ref="T-1"))
    second = await post(lw, a_report(source_ref="T-2"))
    assert (first.status_code, second.status_code) == (202, 202)
    boundary = second.json()["received_at"]
    assert dt.datetime.fromisoformat(boundary) > dt.datetime.fromisoformat(
        first.json()["received_at"]
    )

    async def listed(**params: Any) -> list[str]:
        r = await lw.client.get("/v1/reports", params=params, headers=lw.auth())
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await listed(received_from=boundary) == [second.json()["id"]]  # inclusive
    assert await listed(received_to=boundary) == [first.json()["id"]]  # exclusive
    naive = await lw.client.get(
        "/v1/reports", params={"received_from": "2026-11-21T00:00:00"}, headers=lw.auth()
    )
    problem = assert_problem(naive, 422)
    assert ["query", "received_from"] in [e["loc"] for e in problem["errors"]]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
async def test_a_bad_cursor_is_400(lw: Running, cursor: str) -> None:
    r = await lw.client.get("/v1/reports", params={"cursor": cursor}, headers=lw.auth())
    assert_problem(r, 400)


async def test_a_bad_limit_is_422(lw: Running) -> None:
    for limit in (0, 501, "many"):
        r = await lw.client.get("/v1/reports", params={"limit": limit}, headers=lw.auth())
        problem = assert_problem(r, 422)
        assert ["query", "limit"] in [e["loc"] for e in problem["errors"]]


# -------------------------------------------------------------------------------- scopes


async def test_an_analyst_reads_only_its_jurisdiction(lw: Running) -> None:
    mine = await post(lw, a_report(), role="admin")
    other = await post(lw, a_report(jurisdiction="xuanen", region="zhushan"), role="admin")
    assert (mine.status_code, other.status_code) == (202, 202)
    analyst = lw.auth("analyst")

    ok = await lw.client.get(f"/v1/reports/{mine.json()['id']}", headers=analyst)
    assert ok.status_code == 200, ok.text
    # v1.1: another jurisdiction's report asked by id is 403, not 404 (fix 12)
    hidden = await lw.client.get(f"/v1/reports/{other.json()['id']}", headers=analyst)
    assert_problem(hidden, 403)

    listed = await lw.client.get("/v1/reports", headers=analyst)
    assert [i["id"] for i in listed.json()["items"]] == [mine.json()["id"]]
    forbidden = await lw.client.get(
        "/v1/reports", params={"jurisdiction": "xuanen"}, headers=analyst
    )
    assert_problem(forbidden, 403)

    # The xuanen analyst sees the other one only.
    theirs = await lw.client.get("/v1/reports", headers=lw.auth("analyst_xuanen"))
    assert [i["id"] for i in theirs.json()["items"]] == [other.json()["id"]]


async def test_a_responder_reads_its_body_jurisdiction(lw: Running) -> None:
    cc = await post(lw, a_report(), role="admin")
    xe = await post(lw, a_report(jurisdiction="xuanen", region="zhushan"), role="admin")
    responder = lw.auth("responder")
    listed = await lw.client.get("/v1/reports", headers=responder)
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()["items"]] == [cc.json()["id"]]
    assert_problem(await lw.client.get(f"/v1/reports/{xe.json()['id']}", headers=responder), 403)


async def test_a_reporter_sees_only_its_own_reports(lw: Running) -> None:
    own = await post(lw, a_report(), role="reporter")
    admins = await post(lw, a_report(), role="admin")
    assert (own.status_code, admins.status_code) == (202, 202)
    reporter = lw.auth("reporter")
    listed = await lw.client.get("/v1/reports", headers=reporter)
    assert [i["id"] for i in listed.json()["items"]] == [own.json()["id"]]
    assert_problem(await lw.client.get(f"/v1/reports/{admins.json()['id']}", headers=reporter), 403)
    everything = await lw.client.get("/v1/reports", headers=lw.auth())
    assert {i["id"] for i in everything.json()["items"]} == {own.json()["id"], admins.json()["id"]}


@pytest.mark.parametrize("role", ["analyst", "responder"])
async def test_only_reporters_and_admins_submit(lw: Running, role: str) -> None:
    before = await counts(lw)
    assert_problem(await post(lw, a_report(), role=role), 403)
    assert await counts(lw) == before


async def test_no_key_or_an_unknown_key_is_401(lw: Running) -> None:
    before = await counts(lw)
    missing = await lw.client.post("/v1/reports", json=a_report())
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"].lower().startswith("bearer")
    unknown = await lw.client.post(
        "/v1/reports", json=a_report(), headers={"Authorization": "Bearer lw_not-a-real-key"}
    )
    assert_problem(unknown, 401)
    assert unknown.headers["www-authenticate"].lower().startswith("bearer")
    wrong_scheme = await lw.client.get(
        "/v1/reports", headers={"Authorization": f"Basic {lw.keys['admin']}"}
    )
    assert_problem(wrong_scheme, 401)
    assert_problem(await lw.client.get("/v1/reports"), 401)
    assert await counts(lw) == before


async def test_an_unknown_report_is_404(lw: Running) -> None:
    r = await lw.client.get(f"/v1/reports/{uuid.uuid4()}", headers=lw.auth())
    assert_problem(r, 404)


# -------------------------------------------------------------------------------- events


async def test_report_received_event_carries_the_report_and_no_personal_data(
    lw: Running,
) -> None:
    key = f"ev-{uuid.uuid4()}"
    body = a_report()
    r = await post(lw, body, **{"Idempotency-Key": key})
    assert r.status_code == 202, r.text
    report_id = r.json()["id"]

    messages = await eventually(lambda: received_events(lw, report_id))
    assert len(messages) == 1
    message = messages[0]
    event = orjson.loads(message.payload)
    assert event["specversion"] == "1.0"
    assert event["type"] == REPORT_RECEIVED
    assert event["source"] == "/laborwatch/intake"
    assert event["id"]
    assert event["subject"] == report_id
    dt.datetime.fromisoformat(event["time"])
    data = event["data"]["report"]
    assert data["id"] == report_id
    assert data["jurisdiction"] == "changchun"
    assert data["category"] == "wage_arrears"
    assert data["workers_involved"] == 35
    assert Decimal(data["amount_yuan"]) == Decimal("1200000.00")
    assert data["enterprise"]["credit_code"] == VALID_CODE
    # The key keeps one enterprise's events in order.
    assert message.key is not None
    assert VALID_CODE in message.key
    # No personal data anywhere in the message, not even in free text.
    raw = message.payload.decode()
    for secret in (PHONE, NAME, "13912345678", "reporter_sealed"):
        assert secret not in raw, secret
    assert "reporter" not in data

    # A replay announces nothing new.
    again = await post(lw, body, **{"Idempotency-Key": key})
    assert again.status_code == 200, again.text
    await eventually(lambda: outbox_drained(lw))
    assert len(await received_events(lw, report_id)) == 1


async def test_each_report_is_announced_with_its_own_key(lw: Running) -> None:
    one = await post(lw, a_report())
    body = a_report()
    body["enterprise"]["credit_code"] = OTHER_VALID_CODE
    two = await post(lw, body)
    first = (await eventually(lambda: received_events(lw, one.json()["id"])))[0]
    second = (await eventually(lambda: received_events(lw, two.json()["id"])))[0]
    assert first.key != second.key
    assert OTHER_VALID_CODE in (second.key or "")


async def test_nul_characters_are_refused_not_a_crash(system: Running) -> None:
    for body, loc in (
        (a_report(summary="拖欠工资\u0000"), ["body", "summary"]),
        (a_report(enterprise={"name": "某\u0000公司"}), ["body", "enterprise", "name"]),
        (a_report(reporter={"name": "李\u0000"}), ["body", "reporter", "name"]),
        (a_report(source_ref="A\u0000"), ["body", "source_ref"]),
    ):
        problem = assert_problem(await post(system, body), 422)
        assert loc in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert (await counts(system))["reports"] == 0
