"""POST /v1/webhooks/hotline: Standard Webhooks signatures, redelivery, mapping of 12345 /
12333 work orders into reports (CONTRACT.md, "Hotline webhook (intake)")."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text
from standardwebhooks.webhooks import Webhook

from libs.common.events import REPORT_RECEIVED
from libs.common.tables import BusMessage
from services.intake.tables import Report, WebhookDelivery
from tests.conftest import (
    WEBHOOK_SECRET,
    Running,
    assert_problem,
    eventually,
    make_settings,
    running,
)

HOOK = "/v1/webhooks/hotline"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()


def an_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_no": f"12345-20261121-{uuid.uuid4().hex[:8]}",
        "hotline": "12345",
        "received_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
        "jurisdiction": "xuanen",
        "area": "zhushan",
        "caller": {"name": "张三丰", "phone": "13800138000"},
        "content": "某公司拖欠30名工人工资约80万元",
        "category": "欠薪",
        "enterprise_name": "宣恩某建筑有限公司",
        "workers_involved": 30,
        "amount_yuan": 800000,
        "collective_action": "possible",
    }
    order.update(overrides)
    return order


def signed(
    body: str,
    *,
    msg_id: str | None = None,
    at: dt.datetime | None = None,
    secret: str = WEBHOOK_SECRET,
) -> dict[str, str]:
    """Standard Webhooks headers for the body, signed with the library."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or dt.datetime.now(dt.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }


def by_hand(msg_id: str, timestamp: int, body: str) -> str:
    """The signature as CONTRACT.md spells it out, without the library."""
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


async def deliver(
    r: Running, order: Any, *, headers: dict[str, str] | None = None, **sign: Any
) -> httpx.Response:
    body = order if isinstance(order, str) else json.dumps(order, ensure_ascii=False)
    return await r.client.post(HOOK, content=body.encode(), headers=headers or signed(body, **sign))


async def counts(r: Running) -> dict[str, int]:
    async with r.runtime.sessionmaker() as session:
        reports = await session.scalar(select(func.count()).select_from(Report))
        deliveries = await session.scalar(select(func.count()).select_from(WebhookDelivery))
        events = await session.scalar(
            text(
                "SELECT (SELECT count(*) FROM outbox WHERE topic = :t)"
                " + (SELECT count(*) FROM bus_messages WHERE topic = :t)"
            ),
            {"t": REPORT_RECEIVED},
        )
    return {
        "reports": int(reports or 0),
        "deliveries": int(deliveries or 0),
        "events": int(events or 0),
    }


async def get_report(r: Running, report_id: str) -> dict[str, Any]:
    got = await r.client.get(f"/v1/reports/{report_id}", headers=r.auth())
    assert got.status_code == 200, got.text
    out: dict[str, Any] = got.json()
    return out


# -------------------------------------------------------------------------------- accepted


async def test_a_signed_work_order_becomes_a_report(lw: Running) -> None:
    order = an_order()
    r = await deliver(lw, order)
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"report_id"}
    report_id = r.json()["report_id"]

    out = await get_report(lw, report_id)
    assert out["id"] == report_id
    assert out["status"] == "received"
    assert out["channel"] == "webhook"
    assert out["source"] == "hotline_12345"
    assert out["source_ref"] == order["order_no"]
    assert (out["jurisdiction"], out["region"]) == ("xuanen", "zhushan")
    assert out["affected_regions"] == ["zhushan"]
    assert out["category"] == "wage_arrears"
    assert out["category_text"] == "欠薪"
    assert out["enterprise"]["name"] == "宣恩某建筑有限公司"
    assert out["workers_involved"] == 30
    assert Decimal(str(out["amount_yuan"])) == Decimal(800000)
    assert out["collective_action"] == "possible"
    assert out["summary"] == order["content"]
    assert dt.datetime.fromisoformat(out["occurred_at"]) == dt.datetime.fromisoformat(
        order["received_at"]
    )
    assert out["reporter"] == {"name": "张**", "phone": "138****8000"}
    assert "13800138000" not in json.dumps(out, ensure_ascii=False)

    # The caller is encrypted at rest, and the event carries no trace of them.
    async with lw.runtime.sessionmaker() as session:
        sealed = await session.scalar(select(Report.reporter_sealed).where(Report.id == report_id))
    assert sealed is not None
    assert "13800138000" not in sealed
    assert orjson.loads(lw.runtime.cipher.decrypt(sealed, context="intake_reports.reporter")) == {
        "name": "张三丰",
        "phone": "13800138000",
    }

    async def announced() -> list[BusMessage]:
        async with lw.runtime.sessionmaker() as session:
            rows = (
                await session.execute(select(BusMessage).where(BusMessage.topic == REPORT_RECEIVED))
            ).scalars()
            return [m for m in rows if orjson.loads(m.payload)["data"]["report"]["id"] == report_id]

    [message] = await eventually(announced)
    event = orjson.loads(message.payload)
    assert event["type"] == REPORT_RECEIVED
    assert event["data"]["report"]["source"] == "hotline_12345"
    assert event["data"]["report"]["category"] == "wage_arrears"
    raw = message.payload.decode()
    assert "13800138000" not in raw
    assert "张三丰" not in raw


async def test_12333_work_orders_have_their_own_source(lw: Running) -> None:
    order = an_order(hotline="12333", order_no="SHARED-0001")
    r = await deliver(lw, order)
    assert r.status_code == 202, r.text
    assert (await get_report(lw, r.json()["report_id"]))["source"] == "hotline_12333"
    # The same order number on the other hotline is another work order.
    other = await deliver(lw, an_order(hotline="12345", order_no="SHARED-0001"))
    assert other.status_code == 202, other.text
    assert other.json()["report_id"] != r.json()["report_id"]
    assert (await get_report(lw, other.json()["report_id"]))["source"] == "hotline_12345"


async def test_a_signature_made_by_hand_per_the_contract(lw: Running) -> None:
    body = json.dumps(an_order(), ensure_ascii=False)
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": by_hand(msg_id, now, body),
        "content-type": "application/json",
    }
    r = await deliver(lw, body, headers=headers)
    assert r.status_code == 202, r.text


async def test_one_good_signature_among_several_is_enough(lw: Running) -> None:
    """Standard Webhooks sends space-separated signatures while a secret is rotated."""
    body = json.dumps(an_order(), ensure_ascii=False)
    headers = signed(body)
    wrong = signed(body, msg_id=headers["webhook-id"], secret=OTHER_SECRET)
    headers["webhook-signature"] = f"{wrong['webhook-signature']} {headers['webhook-signature']}"
    r = await deliver(lw, body, headers=headers)
    assert r.status_code == 202, r.text


@pytest.mark.parametrize(
    ("category", "mapped"),
    [
        ("欠薪", "wage_arrears"),
        ("拖欠农民工工资", "wage_arrears"),
        ("工伤保险待遇", "work_injury"),
        ("social_insurance", "social_insurance"),
        ("噪音扰民", "other"),  # no known name in it
    ],
)
async def test_categories_are_mapped_and_the_text_kept(
    lw: Running, category: str, mapped: str
) -> None:
    r = await deliver(lw, an_order(category=category))
    assert r.status_code == 202, r.text
    out = await get_report(lw, r.json()["report_id"])
    assert out["category"] == mapped
    assert out["category_text"] == category


async def test_a_minimal_work_order_and_fields_of_the_platform_are_accepted(lw: Running) -> None:
    order = {
        "order_no": f"MIN-{uuid.uuid4().hex[:8]}",
        "hotline": "12345",
        "received_at": "2026-11-21T09:30:00+08:00",
        "jurisdiction": "changchun",
        "area": "kuancheng",
        "platform_priority": "urgent",
    }
    r = await deliver(lw, order)
    assert r.status_code == 202, r.text
    out = await get_report(lw, r.json()["report_id"])
    assert out["reporter"] is None
    assert out["category"] == "other"
    assert out["category_text"] is None
    assert out["workers_involved"] == 0
    assert (out["jurisdiction"], out["region"]) == ("changchun", "kuancheng")


# ------------------------------------------------------------------------------ redelivery


async def test_a_redelivery_creates_nothing(lw: Running) -> None:
    order = an_order()
    body = json.dumps(order, ensure_ascii=False)
    msg_id = f"msg_{uuid.uuid4().hex}"
    first = await deliver(lw, body, msg_id=msg_id)
    assert first.status_code == 202, first.text
    report_id = first.json()["report_id"]
    before = await counts(lw)
    assert before["reports"] == 1

    # The platform retries the same delivery (a new timestamp, so a new signature).
    again = await deliver(lw, body, msg_id=msg_id)
    assert again.status_code == 200, again.text
    assert again.json() == {"report_id": report_id}
    assert await counts(lw) == before

    # A new delivery of the same work order (same order_no): still the same report.
    resent = await deliver(lw, an_order(order_no=order["order_no"], workers_involved=99))
    assert resent.status_code == 200, resent.text
    assert resent.json() == {"report_id": report_id}
    after = await counts(lw)
    assert after["reports"] == before["reports"]
    assert after["events"] == before["events"]
    assert (await get_report(lw, report_id))["workers_involved"] == 30


async def test_concurrent_redeliveries_make_one_report(system: Running) -> None:
    body = json.dumps(an_order(), ensure_ascii=False)
    headers = signed(body)
    start = await counts(system)  # events of earlier tests stay on the bus
    answers = await asyncio.gather(
        *(deliver(system, body, headers=headers) for _ in range(8)),
        *(deliver(system, body) for _ in range(4)),  # other webhook-ids, same order_no
    )
    assert sorted(a.status_code for a in answers) == [200] * 11 + [202], [a.text for a in answers]
    assert len({a.json()["report_id"] for a in answers}) == 1
    counted = await counts(system)
    assert counted["reports"] == 1
    assert counted["events"] == start["events"] + 1
    assert counted["deliveries"] == 5


# ------------------------------------------------------------------------------- rejected


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _tamper(kind: str, body: str) -> dict[str, str]:
    """Headers for the body, spoiled in one way."""
    headers = signed(body)
    match kind:
        case "wrong-secret":
            headers = signed(body, msg_id=headers["webhook-id"], secret=OTHER_SECRET)
        case "missing-id":
            del headers["webhook-id"]
        case "missing-timestamp":
            del headers["webhook-timestamp"]
        case "missing-signature":
            del headers["webhook-signature"]
        case "six-minutes-old":
            headers = signed(body, at=_now() - dt.timedelta(minutes=6))
        case "six-minutes-ahead":
            headers = signed(body, at=_now() + dt.timedelta(minutes=6))
        case "timestamp-not-signed":
            headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
        case "timestamp-not-a-number":
            headers["webhook-timestamp"] = "yesterday"
        case "id-not-signed":
            headers["webhook-id"] = headers["webhook-id"] + "x"
        case "no-comma":
            headers["webhook-signature"] = "v1"
        case "not-base64":
            headers["webhook-signature"] = "v1,@@not*base64@@x"
        case "bad-padding":
            headers["webhook-signature"] = "v1,abc"
        case "three-parts":
            headers["webhook-signature"] = headers["webhook-signature"] + ",extra"
        case "other-version":
            headers["webhook-signature"] = "v2," + headers["webhook-signature"].split(",")[1]
        case "empty-signature":
            headers["webhook-signature"] = ""
        case _:  # pragma: no cover - a typo in the list below
            raise AssertionError(kind)
    return headers


@pytest.mark.parametrize(
    "kind",
    [
        "wrong-secret",
        "missing-id",
        "missing-timestamp",
        "missing-signature",
        "six-minutes-old",
        "six-minutes-ahead",
        "timestamp-not-signed",
        "timestamp-not-a-number",
        "id-not-signed",
        "no-comma",
        "not-base64",
        "bad-padding",
        "three-parts",
        "other-version",
        "empty-signature",
    ],
)
async def test_a_bad_signature_is_401_and_writes_nothing(lw: Running, kind: str) -> None:
    body = json.dumps(an_order(), ensure_ascii=False)
    before = await counts(lw)
    r = await deliver(lw, body, headers=_tamper(kind, body))
    assert_problem(r, 401)
    assert await counts(lw) == before


async def test_a_body_changed_after_signing_is_401(lw: Running) -> None:
    body = json.dumps(an_order(), ensure_ascii=False)
    headers = signed(body)
    changed = body.replace('"workers_involved": 30', '"workers_involved": 3')
    assert changed != body
    assert_problem(await deliver(lw, changed, headers=headers), 401)
    assert (await counts(lw))["reports"] == 0


async def test_a_good_signature_still_works_after_bad_ones(lw: Running) -> None:
    """Rejections leave no state behind that would refuse the real delivery."""
    body = json.dumps(an_order(), ensure_ascii=False)
    headers = signed(body)
    spoiled = {**headers, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    assert_problem(await deliver(lw, body, headers=spoiled), 401)
    ok = await deliver(lw, body, headers=headers)
    assert ok.status_code == 202, ok.text


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"area": "atlantis"}, ["body", "area"]),
        ({"area": "chaoyang"}, ["body", "area"]),  # a region of changchun, not xuanen
        ({"jurisdiction": "beijing"}, ["body", "jurisdiction"]),
        ({"hotline": "110"}, ["body", "hotline"]),
        ({"received_at": "2026-11-21T09:30:00"}, ["body", "received_at"]),
        ({"workers_involved": -1}, ["body", "workers_involved"]),
        ({"workers_involved": "30"}, ["body", "workers_involved"]),
        ({"amount_yuan": -1}, ["body", "amount_yuan"]),
        ({"collective_action": "riot"}, ["body", "collective_action"]),
        ({"enterprise_credit_code": "91350100M000100Y42"}, ["body", "enterprise_credit_code"]),
        ({"order_no": None}, ["body", "order_no"]),
    ],
)
async def test_an_invalid_work_order_is_422_and_writes_nothing(
    lw: Running, change: dict[str, Any], loc: list[Any]
) -> None:
    order = an_order(**change)
    order = {k: v for k, v in order.items() if v is not None}
    before = await counts(lw)
    r = await deliver(lw, order)
    problem = assert_problem(r, 422)
    assert loc in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert await counts(lw) == before


async def test_a_signed_body_that_is_not_json_is_refused(lw: Running) -> None:
    before = await counts(lw)
    r = await deliver(lw, "order_no=1&hotline=12345")
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code)
    not_an_object = await deliver(lw, "[1, 2, 3]")
    assert_problem(not_an_object, 422)
    assert await counts(lw) == before


async def test_a_work_order_over_one_mebibyte_is_413(lw: Running) -> None:
    body = json.dumps(an_order(content="欠" * (1024 * 1024 // 3 + 10)), ensure_ascii=False)
    assert_problem(await deliver(lw, body), 413)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    streamed = await lw.client.post(HOOK, content=chunks(), headers=signed("x"))
    assert_problem(streamed, 413)
    assert (await counts(lw))["reports"] == 0


async def test_without_a_secret_the_webhook_is_503(sqlite_url: str) -> None:
    settings = make_settings(database_url=sqlite_url, hotline_webhook_secret=None)
    async with running(settings) as r:
        body = json.dumps(an_order(), ensure_ascii=False)
        problem = assert_problem(await deliver(r, body), 503)
        assert "HOTLINE_WEBHOOK_SECRET" in problem["detail"]
        assert (await counts(r))["reports"] == 0
        # The rest of intake works without it.
        assert (await r.client.get("/v1/reports", headers=r.auth())).status_code == 200


async def test_an_overlong_webhook_id_is_refused_not_a_crash(system: Running) -> None:
    body = json.dumps(an_order(), ensure_ascii=False)
    r = await deliver(system, body, msg_id="m" * 300)
    assert_problem(r, 400)
    assert (await counts(system))["reports"] == 0
    longest = await deliver(system, body, msg_id="m" * 255)
    assert longest.status_code == 202, longest.text


async def test_nul_characters_are_refused_not_a_crash(system: Running) -> None:
    r = await deliver(system, an_order(content="拖欠工资\u0000"))
    problem = assert_problem(r, 422)
    assert ["body", "content"] in [e["loc"] for e in problem["errors"]]
    extra = await deliver(system, an_order(platform_note="备注\u0000"))
    assert extra.status_code in (202, 422), extra.text
    assert_problem(await deliver(system, an_order(caller={"name": "张\u0000"})), 422)


# -------------------------------------------------------------------------- area (fix 8)


@pytest.mark.parametrize(
    ("jurisdiction", "area", "region"),
    [
        ("changchun", "朝阳区", "chaoyang"),
        ("changchun", "朝阳", "chaoyang"),
        ("changchun", " 朝阳区 ", "chaoyang"),
        ("changchun", "榆树市", "yushu"),
        ("changchun", "农安", "nongan"),
        ("xuanen", "长潭河侗族乡", "changtanhe"),
        ("xuanen", "长潭河", "changtanhe"),
        ("xuanen", "珠山镇", "zhushan"),
        ("xuanen", "椿木营", "chunmuying"),
        ("xuanen", "zhushan", "zhushan"),
    ],
)
async def test_the_area_may_be_the_regions_chinese_name_with_or_without_suffix(
    lw: Running, jurisdiction: str, area: str, region: str
) -> None:
    r = await deliver(lw, an_order(jurisdiction=jurisdiction, area=area))
    assert r.status_code == 202, r.text
    out = await get_report(lw, r.json()["report_id"])
    assert (out["region"], out["affected_regions"]) == (region, [region])


@pytest.mark.parametrize("area", ["朝阳区区", "朝", "区", "长春市", "南关区朝阳区"])
async def test_an_area_that_names_no_region_is_422_naming_area(lw: Running, area: str) -> None:
    before = await counts(lw)
    r = await deliver(lw, an_order(jurisdiction="changchun", area=area))
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == [["body", "area"]]
    assert await counts(lw) == before
