"""One bad channel harms no other (issue 12, "Isolation and outbound calls"): channels are
checked when saved, a delivery that fails fails alone, a replaced channel gets what was
pending, and webhooks go only to http(s) targets that are not this machine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from libs.common.targets import target_problem
from services.notifier.delivery import SECRET_CONTEXT
from services.notifier.tables import Channel, Delivery
from tests.conftest import Running, assert_problem, eventually, make_settings, running
from tests.integration.test_notifier_api import (
    OFFICE,
    ZHUSHAN,
    changchun_blue,
    deliveries,
    xuanen_report,
)
from tests.integration.test_notifier_delivery import (
    HOOK_SECRET,
    Receiver,
    polled,
    receiver,
    responsible,
    set_channels,
    webhook,
)

__all__ = ["receiver"]  # the fixture, shared

BAD_CHANNELS: list[tuple[dict[str, Any], str]] = [
    ({"type": "webhook", "target": "https://oa.example.gov.cn/h", "secret": "whsec_…"}, "secret"),
    ({"type": "webhook", "target": "https://oa.example.gov.cn/h", "secret": "abc"}, "secret"),
    ({"type": "webhook", "target": "file:///etc/passwd"}, "target"),
    ({"type": "webhook", "target": "ftp://files.example.gov.cn/x"}, "target"),
    ({"type": "webhook", "target": "not a url at all"}, "target"),
    ({"type": "email", "target": "office.example.gov.cn"}, "target"),
    ({"type": "email", "target": "a@b"}, "target"),
    ({"type": "sms", "target": "office@example.gov.cn"}, "target"),
    ({"type": "sms", "target": "12345"}, "target"),
    ({"type": "email", "target": "a@example.gov.cn", "secret": HOOK_SECRET}, "secret"),
]
LOCAL_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:8000/v1/reports",
    "http://localhost:8000/v1/reports",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:169.254.169.254]/x",
    "http://0.0.0.0:8000/",
    "http://[fe80::1]/",
]


@pytest.mark.parametrize(("channel", "field"), BAD_CHANNELS)
async def test_a_bad_channel_is_refused_when_saved(
    guarded: Running, channel: dict[str, Any], field: str
) -> None:
    r = await guarded.client.put(
        f"/v1/bodies/{OFFICE}/channels", json={"channels": [channel]}, headers=guarded.auth()
    )
    problem = assert_problem(r, 422)
    assert ["body", "channels", 0, field] in [e["loc"] for e in problem["errors"]], problem


@pytest.mark.parametrize("target", LOCAL_TARGETS)
async def test_a_local_webhook_target_is_refused(guarded: Running, target: str) -> None:
    r = await guarded.client.put(
        f"/v1/bodies/{OFFICE}/channels",
        json={"channels": [{"type": "webhook", "target": target}]},
        headers=guarded.auth(),
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "channels", 0, "target"]


def test_local_targets_are_allowed_only_when_the_setting_says_so() -> None:
    assert target_problem("http://127.0.0.1:9/x", allow_local=True) is None
    assert target_problem("https://oa.example.gov.cn/h", allow_local=False) is None
    assert target_problem("http://8.8.8.8/", allow_local=False) is None
    assert target_problem("file:///etc/passwd", allow_local=True) is not None


async def test_good_channels_are_saved(guarded: Running) -> None:
    good = [
        {"type": "webhook", "target": "https://oa.example.gov.cn/h", "secret": HOOK_SECRET},
        {"type": "email", "target": "office@example.gov.cn"},
        {"type": "sms", "target": "138 0013 8000"},
    ]
    r = await guarded.client.put(
        f"/v1/bodies/{OFFICE}/channels", json={"channels": good}, headers=guarded.auth()
    )
    assert r.status_code == 200, r.text


async def test_a_body_there_is_not_is_404_on_get_as_on_put(guarded: Running) -> None:
    for method in ("GET", "PUT"):
        r = await guarded.client.request(
            method,
            "/v1/bodies/no.such.body/channels",
            json={"channels": []},
            headers=guarded.auth(),
        )
        assert_problem(r, 404)


async def test_one_bad_channel_stops_no_other_bodys_delivery(
    sqlite_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url=sqlite_url, deadline_poll_seconds=0.05, delivery_backoff_seconds=0.05
    )
    async with running(settings) as system:
        # A channel saved before channels were checked: the README's example secret.
        async with system.runtime.sessionmaker.begin() as session:
            session.add(
                Channel(
                    body_id=OFFICE,
                    type="webhook",
                    target=receiver.url,
                    enabled=True,
                    secret_sealed=system.runtime.cipher.encrypt("whsec_…", context=SECRET_CONTEXT),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        await set_channels(system, ZHUSHAN, webhook(receiver))
        bad = await responsible(system, changchun_blue(), OFFICE)
        good = await responsible(system, xuanen_report(), ZHUSHAN)

        (hook,) = await eventually(polled(receiver.received), timeout=10)
        assert hook.payload["notification"]["id"] == good["id"]

        async def refused() -> list[Delivery] | None:
            rows = await deliveries(system.runtime, bad["id"])
            return rows if rows and rows[0].last_error else None

        (failing,) = await eventually(refused)
        assert "secret" in (failing.last_error or "")


async def test_a_body_whose_webhook_hangs_holds_up_no_other_bodys_warning(
    sqlite_url: str, receiver: Receiver
) -> None:
    arrived: list[int] = []

    def answer(n: int, payload: dict[str, Any]) -> int:
        arrived.append(n)
        return 200

    hanging = Receiver(delay=8.0, answer=answer)
    hanging._thread.start()
    settings = make_settings(database_url=sqlite_url, deadline_poll_seconds=0.05)
    try:
        async with running(settings) as system:
            await set_channels(system, OFFICE, webhook(hanging))
            await set_channels(system, ZHUSHAN, webhook(receiver))
            await responsible(system, changchun_blue(), OFFICE)
            await eventually(polled(lambda: arrived), timeout=10)  # its call is out, held 8 s
            good = await responsible(system, xuanen_report(), ZHUSHAN)

            (hook,) = await eventually(polled(receiver.received), timeout=5)
            assert hook.payload["notification"]["id"] == good["id"]
            assert hanging.received() == []  # still holding the first body's call
    finally:
        hanging._server.shutdown()
        hanging._server.server_close()


async def test_replacing_a_channel_redelivers_what_was_pending(
    sqlite_url: str, receiver: Receiver
) -> None:
    settings = make_settings(
        database_url=sqlite_url, deadline_poll_seconds=0.05, delivery_backoff_seconds=30
    )
    async with running(settings) as system:
        nowhere = {"type": "webhook", "target": "http://127.0.0.1:9/down", "secret": HOOK_SECRET}
        await set_channels(system, ZHUSHAN, nowhere)
        n = await responsible(system, xuanen_report(), ZHUSHAN)

        async def tried() -> list[Delivery] | None:
            rows = await deliveries(system.runtime, n["id"])
            return rows if rows and rows[0].attempts >= 1 and rows[0].last_error else None

        await eventually(tried)  # failed once; its retry is 30 s away
        await set_channels(system, ZHUSHAN, webhook(receiver))
        (hook,) = await eventually(polled(receiver.received), timeout=10)
        assert hook.payload["notification"]["id"] == n["id"]

        async def statuses() -> list[str] | None:  # marked sent once the receiver answered
            found = sorted(d.status for d in await deliveries(system.runtime, n["id"]))
            return found if "pending" not in found else None

        assert await eventually(statuses) == ["cancelled", "sent"]
