"""Deliveries over real channels: a signed webhook to a local receiver, email to a local SMTP
server, one-click acknowledgement links, retries, failures and stale reminders."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import email.utils
import itertools
import logging
import re
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifier.app import build_notifier
from services.notifier.service import Notifier
from services.notifier.tables import Delivery, LateReport
from tests.conftest import Running, eventually, free_port, make_settings, running, submit
from tests.integration.test_notifier_api import (
    OFFICE,
    ZHUSHAN,
    changchun_blue,
    deliveries,
    incident_id_of,
    is_problem,
    listing,
    metric,
    notification_events,
    notifications_of,
    one,
    when,
    xuanen_report,
)

PUBLIC_URL = "https://laborwatch.example.test"
HOOK_SECRET = "whsec_" + base64.b64encode(b"delivery-test-secret-0123456789ab").decode()


# ------------------------------------------------------------------- a webhook receiver


@dataclass
class Received:
    """One request the receiver got, and how it answered."""

    headers: dict[str, str]
    body: bytes
    status: int
    arrived: dt.datetime
    answered: dt.datetime

    @property
    def payload(self) -> dict[str, Any]:
        return orjson.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers as told."""

    # (request number from 1, payload) -> status to answer
    answer: Callable[[int, dict[str, Any]], int] = lambda n, payload: 200
    delay: float = 0.0  # seconds to hold each request before answering
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = dt.datetime.now(dt.UTC)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    status = receiver.answer(len(receiver.requests) + 1, orjson.loads(body))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            status=status,
                            arrived=arrived,
                            answered=dt.datetime.now(dt.UTC),
                        )
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.send_header("connection", "close")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def received(self, purpose: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if purpose is None or r.payload["purpose"] == purpose]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r._thread.start()
    yield r
    r._server.shutdown()
    r._server.server_close()
    r._thread.join(5)


def verify(request: Received, secret: str = HOOK_SECRET) -> Any:
    """Check a request's Standard Webhooks signature; return the parsed payload."""
    return Webhook(secret).verify(request.body, request.headers)


# ------------------------------------------------------------------------- an SMTP server


@dataclass
class Mailbox:
    """What the local SMTP server accepted."""

    envelopes: list[Any] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)
            for e in list(self.envelopes)
        ]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# --------------------------------------------------------------------------------- helpers


@asynccontextmanager
async def drill(sqlite_url: str, **overrides: Any) -> AsyncIterator[Running]:
    values: dict[str, Any] = {
        "database_url": sqlite_url,
        "public_url": PUBLIC_URL,
        "deadline_poll_seconds": 0.05,
        "delivery_backoff_seconds": 0.05,
    }
    settings = make_settings(**{**values, **overrides})
    async with running(settings) as system:
        yield system


async def set_channels(system: Running, body_id: str, *channels: dict[str, Any]) -> None:
    put = await system.client.put(
        f"/v1/bodies/{body_id}/channels", json={"channels": list(channels)}, headers=system.auth()
    )
    assert put.status_code == 200, put.text


def webhook(receiver: Receiver) -> dict[str, Any]:
    return {"type": "webhook", "target": receiver.url, "secret": HOOK_SECRET}


async def responsible(system: Running, body: dict[str, Any], body_id: str) -> dict[str, Any]:
    incident_id = await incident_id_of(system, await submit(system, body))
    items = await notifications_of(system, incident_id)
    return one(items, body_id=body_id)


async def notice(system: Running, notification_id: str, status: str) -> Delivery:
    """Wait for the notice delivery of a notification (one channel) to reach a status."""

    async def settled() -> Delivery | None:
        rows = [
            d for d in await deliveries(system.runtime, notification_id) if d.purpose == "notice"
        ]
        assert len(rows) <= 1, rows
        return rows[0] if rows and rows[0].status == status else None

    return await eventually(settled, timeout=10)  # type: ignore[no-any-return]


def polled(read: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    """A check for `eventually` from a plain function."""

    async def check() -> Any:
        return read()

    return check


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def is_page(response: Any, status: int) -> str:
    """Assert an HTML page in Chinese of the status; return its text."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text
    return str(response.text)


def link_path(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/ack/"), url
    return urlsplit(url).path


# ------------------------------------------------------------------ webhook, email, link


async def test_a_signed_webhook_and_an_email_carry_the_warning_and_a_working_link(
    sqlite_url: str, receiver: Receiver, mailbox: Mailbox
) -> None:
    async with drill(sqlite_url, smtp_host="127.0.0.1", smtp_port=mailbox.port) as system:
        await set_channels(
            system,
            ZHUSHAN,
            webhook(receiver),
            {"type": "email", "target": "office@example.test"},
        )
        listed = await system.client.get(f"/v1/bodies/{ZHUSHAN}/channels", headers=system.auth())
        assert [(c["type"], c["has_secret"]) for c in listed.json()["items"]] == [
            ("webhook", True),
            ("email", False),
        ]
        assert HOOK_SECRET not in listed.text

        report = xuanen_report()
        enterprise = report["enterprise"]["name"]
        notification = await responsible(system, report, ZHUSHAN)

        # The webhook: signed with the channel's secret, about this notification.
        (hook,) = await eventually(polled(receiver.received))
        payload = verify(hook)
        assert hook.headers["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):
            verify(hook, "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        assert payload["type"] == "laborwatch.notification.v1"
        assert payload["purpose"] == "notice"
        assert payload["notification"]["id"] == notification["id"]
        assert payload["notification"]["level"] == "level1"
        assert payload["notification"]["level_label"] == "一级预警"
        assert payload["notification"]["body_id"] == ZHUSHAN
        assert payload["summary"]["enterprise"] == enterprise
        assert payload["ack_url"].startswith(PUBLIC_URL + "/ack/")

        # The email: the level in the subject, the enterprise and the link in the text.
        (mail,) = await eventually(polled(mailbox.messages))
        (envelope,) = mailbox.envelopes
        assert envelope.rcpt_tos == ["office@example.test"]
        assert mail["To"] == "office@example.test"
        assert "一级预警" in mail["Subject"]
        text = mail.get_payload(decode=True).decode()
        assert enterprise in text
        assert "珠山镇协调劳动关系三方机制" in text
        links = re.findall(r"https?://\S+/ack/\S+", text)
        assert links == [payload["ack_url"]]

        async def both_sent() -> list[Delivery] | None:
            rows = await deliveries(system.runtime, notification["id"])
            return rows if len(rows) == 2 and all(d.status == "sent" for d in rows) else None

        rows = await eventually(both_sent)
        assert sorted(d.channel for d in rows) == ["email", "webhook"]
        assert all(d.attempts == 1 and d.purpose == "notice" for d in rows)

        # Following the link: a page first, then the acknowledgement itself.
        path = link_path(links[0])
        page = is_page(await system.client.get(path), 200)
        assert f'action="{path}"' in page
        # The page shows the warning it acknowledges, and takes a note.
        assert enterprise in page and "一级预警" in page and "珠山镇" in page
        assert '<textarea id="note" name="note"' in page
        unchanged = one(await listing(system.client, system.auth()), id=notification["id"])
        assert unchanged["status"] == "pending"  # looking is not acknowledging

        confirmed = is_page(await system.client.post(path, data={"note": "已收到，马上处置"}), 200)
        assert "已确认收到预警" in confirmed and "已收到，马上处置" in confirmed
        acked = one(await listing(system.client, system.auth()), id=notification["id"])
        assert acked["status"] == "acknowledged" and acked["late"] is False
        # Acknowledged by the body the link reached, with the note it wrote.
        assert acked["acknowledgement"] == {
            "at": acked["acknowledged_at"],
            "by": ZHUSHAN,
            "note": "已收到，马上处置",
            "via": "link",
        }
        again = is_page(await system.client.post(path, data={"note": "又一次"}), 200)
        assert "已确认收到预警" in again
        assert one(await listing(system.client, system.auth()), id=notification["id"]) == acked


async def test_a_tampered_or_expired_link_is_refused(sqlite_url: str, receiver: Receiver) -> None:
    async with drill(sqlite_url) as system:
        await set_channels(system, ZHUSHAN, webhook(receiver))
        notification = await responsible(system, xuanen_report(), ZHUSHAN)
        (hook,) = await eventually(polled(receiver.received))
        token = link_path(hook.payload["ack_url"]).removeprefix("/ack/")

        # The link names another notification: the signature no longer holds.
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        other = raw.replace(notification["id"].encode(), b"00000000-0000-0000-0000-000000000000")
        assert other != raw
        forged = base64.urlsafe_b64encode(other).decode().rstrip("=")
        # One character changed.
        i = len(token) // 2
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        for bad in (forged, flipped, "nonsense", token[:-4]):
            got = await system.client.get(f"/ack/{bad}", headers=BROWSER)
            assert "此确认链接无效" in is_page(got, 401)
            got = await system.client.post(f"/ack/{bad}", headers=BROWSER)
            assert "此确认链接无效" in is_page(got, 401)
            # A client that is not a browser gets the API's problem+json.
            is_problem(await system.client.get(f"/ack/{bad}"), 401)

        # A link made three days and more ago has expired.
        notifier = build_notifier(system.runtime, http=system.client)
        expired = link_made(notifier, notification["id"], ago=dt.timedelta(hours=80))
        assert "已过期" in is_page(await system.client.get(expired, headers=BROWSER), 401)
        assert "已过期" in is_page(await system.client.post(expired, headers=BROWSER), 401)
        assert "已过期" in is_problem(await system.client.post(expired), 401)["detail"]
        # The same notifier, with the clock right, makes links that work: the keys agree.
        fresh = link_made(notifier, notification["id"], ago=dt.timedelta(0))
        assert (await system.client.get(fresh)).status_code == 200

        still = one(await listing(system.client, system.auth()), id=notification["id"])
        assert still["status"] == "pending" and still["acknowledged_at"] is None


def mac_of(link: str) -> bytes:
    """The MAC at the end of a link's token (16 bytes after 'id.expires.')."""
    token = link.rsplit("/ack/", 1)[1]
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))[-16:]


def link_made(
    notifier: Notifier, notification_id: str, *, ago: dt.timedelta, dot_in_mac: bool = False
) -> str:
    """The path of a link made about `ago` ago, whose MAC does (or does not) hold a '.'."""
    issued = notifier.clock.now() - ago
    for seconds in range(5000):
        at = issued + dt.timedelta(seconds=seconds)
        path = link_path(notifier.ack_url(notification_id, issued_at=at))
        if (b"." in mac_of(path)) == dot_in_mac:
            return path
    raise AssertionError("no such link within 5000 s")


async def test_every_genuine_link_is_accepted(sqlite_url: str) -> None:
    async with drill(sqlite_url) as system:
        notification = await responsible(system, xuanen_report(), ZHUSHAN)
        notifier = build_notifier(system.runtime, http=system.client)
        good = link_made(notifier, notification["id"], ago=dt.timedelta(0))
        assert (await system.client.get(good)).status_code == 200  # the same key and format
        unlucky = link_made(notifier, notification["id"], ago=dt.timedelta(0), dot_in_mac=True)
        page = await system.client.get(unlucky)
        assert page.status_code == 200, page.text
        assert "已确认收到预警" in is_page(await system.client.post(unlucky), 200)
        acked = one(await listing(system.client, system.auth()), id=notification["id"])
        assert acked["status"] == "acknowledged"


async def test_links_expire_after_the_configured_time(sqlite_url: str, receiver: Receiver) -> None:
    async with drill(sqlite_url, ack_link_ttl_hours=0.5 / 3600) as system:
        await set_channels(system, ZHUSHAN, webhook(receiver))
        notification = await responsible(system, xuanen_report(), ZHUSHAN)
        (hook,) = await eventually(polled(receiver.received))
        path = link_path(hook.payload["ack_url"])
        await asyncio.sleep(1.5)  # the link's half a second (and the rounding) is over
        assert "已过期" in is_page(await system.client.post(path, headers=BROWSER), 401)
        still = one(await listing(system.client, system.auth()), id=notification["id"])
        assert still["status"] == "pending"


# ------------------------------------------------------------------- retries and failures


async def test_a_failing_receiver_gets_the_message_on_a_later_attempt(
    sqlite_url: str, receiver: Receiver
) -> None:
    receiver.answer = lambda n, payload: 500 if n <= 2 else 200
    async with drill(sqlite_url, delivery_max_attempts=5) as system:
        before = (await system.client.get("/metrics")).text
        await set_channels(system, ZHUSHAN, webhook(receiver))
        notification = await responsible(system, xuanen_report(), ZHUSHAN)

        sent = await notice(system, notification["id"], "sent")
        assert sent.attempts == 3
        assert sent.channel == "webhook" and sent.purpose == "notice"
        assert sent.last_error is None and sent.sent_at is not None
        got = receiver.received()
        assert [r.status for r in got] == [500, 500, 200]
        # One message, retried: the same id each time, so a receiver can drop duplicates.
        assert len({r.headers["webhook-id"] for r in got}) == 1
        for r in got:
            assert verify(r)["notification"]["id"] == notification["id"]
        # Backoff: the retries are spaced out, the second gap longer than the first.
        gaps = [(b.arrived - a.arrived).total_seconds() for a, b in itertools.pairwise(got)]
        assert gaps[0] >= 0.04 and gaps[1] >= 0.09

        async def delivered() -> list[dict[str, Any]]:
            return [
                e
                for e in await notification_events(system, "delivered")
                if e["subject"] == notification["id"]
            ]

        (event,) = await eventually(delivered)
        assert event["data"]["channel"] == "webhook" and event["data"]["purpose"] == "notice"
        after = (await system.client.get("/metrics")).text
        failures = metric(after, "laborwatch_delivery_failures_total", channel="webhook")
        assert (
            failures - metric(before, "laborwatch_delivery_failures_total", channel="webhook") == 2
        )


async def test_a_receiver_that_always_fails_never_holds_up_the_deadline(
    sqlite_url: str, receiver: Receiver
) -> None:
    receiver.answer = lambda n, payload: 500
    receiver.delay = 0.5  # slow as well as broken
    # Level1's 6 h lasts 1 s.
    async with drill(sqlite_url, delivery_max_attempts=3, time_scale=21600) as system:
        await set_channels(system, ZHUSHAN, webhook(receiver))
        notification = await responsible(system, xuanen_report(), ZHUSHAN)

        failed = await notice(system, notification["id"], "failed")
        assert failed.attempts == 3
        assert failed.last_error is not None and "500" in failed.last_error
        assert failed.sent_at is None
        got = receiver.received("notice")
        assert len(got) == 3 and {r.status for r in got} == {500}

        async def late() -> LateReport | None:
            async with system.runtime.sessionmaker() as session:
                return await session.scalar(
                    select(LateReport).where(LateReport.notification_id == notification["id"])
                )

        report = await eventually(late)
        due = when(notification["due_at"])
        assert report.due_at == due
        # On time: within a few polls of the deadline, while the receiver still held a request.
        assert dt.timedelta(0) <= report.detected_at - due < dt.timedelta(seconds=0.3)
        assert report.detected_at < got[-1].answered
        items = await listing(system.client, system.auth(), incident_id=notification["incident_id"])
        assert one(items, id=notification["id"])["status"] == "overdue"
        assert [n for n in items if n["escalated_from"] == notification["id"]]
        # Failed for good: no further attempt; nothing got through.
        assert len(receiver.received("notice")) == 3
        assert all(r.status == 500 for r in receiver.received())


# ------------------------------------------------------------------- no stale reminders


async def test_a_queued_reminder_is_cancelled_by_the_acknowledgement(
    sqlite_url: str, receiver: Receiver
) -> None:
    failing = threading.Event()
    failing.set()
    receiver.answer = lambda n, p: 500 if failing.is_set() and p["purpose"] == "reminder" else 200
    # Changchun blue's 24 h last 3 s: the first reminder comes after 1.5 s.
    async with drill(
        sqlite_url, time_scale=28800, delivery_backoff_seconds=0.2, delivery_max_attempts=8
    ) as system:
        await set_channels(system, OFFICE, webhook(receiver))
        notification = await responsible(system, changchun_blue(), OFFICE)
        await notice(system, notification["id"], "sent")  # the notice went through

        async def reminder_failed_once() -> Delivery | None:
            rows = [
                d
                for d in await deliveries(system.runtime, notification["id"])
                if d.purpose == "reminder"
            ]
            return rows[0] if rows and rows[0].attempts >= 1 and rows[0].last_error else None

        queued = await eventually(reminder_failed_once, timeout=10)
        assert queued.status == "pending" and queued.attempts == 1

        ack = await system.client.post(
            f"/v1/notifications/{notification['id']}/ack", json={}, headers=system.auth("responder")
        )
        assert ack.status_code == 200, ack.text
        acked_at = dt.datetime.now(dt.UTC)
        assert ack.json()["late"] is False and ack.json()["reminders_sent"] == 1
        failing.clear()  # the receiver would take anything now

        # Wait past the deadline: the reminder's retries and the second reminder's time are over.
        due = when(notification["due_at"])
        await asyncio.sleep(max(0.0, (due - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)

        rows = await deliveries(system.runtime, notification["id"])
        reminders = [d for d in rows if d.purpose == "reminder"]
        assert [(d.id, d.status) for d in reminders] == [(queued.id, "cancelled")]
        assert reminders[0].sent_at is None
        assert receiver.received("reminder")
        assert {r.status for r in receiver.received("reminder")} == {500}
        assert all(r.arrived < acked_at for r in receiver.received("reminder"))
        assert [r.status for r in receiver.received("notice")] == [200]
        items = await listing(system.client, system.auth(), incident_id=notification["incident_id"])
        final = one(items, id=notification["id"])
        assert final["status"] == "acknowledged" and final["reminders_sent"] == 1
        assert len(items) == 1  # never escalated


# ------------------------------------------------------------------ the words of a message

GAOLUO = "xuanen.gaoluo.tripartite"
TIME = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}")


async def test_every_message_is_in_chinese_with_the_essentials_and_a_link_to_this_server(
    sqlite_url: str, receiver: Receiver, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # No PUBLIC_URL: links point at the served process, on its own port.
    async with drill(
        sqlite_url, public_url=None, port=8123, smtp_host="127.0.0.1", smtp_port=mailbox.port
    ) as system:
        await set_channels(
            system,
            GAOLUO,
            webhook(receiver),
            {"type": "email", "target": "gaoluo@example.test"},
            {"type": "sms", "target": "13800138000"},
        )
        report = xuanen_report(region="gaoluo", amount_yuan="800000")
        notification = await responsible(system, report, GAOLUO)

        (mail,) = await eventually(polled(mailbox.messages))
        assert email.utils.parsedate_to_datetime(mail["Date"]).tzinfo is not None
        text = mail.get_payload(decode=True).decode()
        for line in (
            "所在区域：高罗镇",
            "问题类别：拖欠工资",
            "涉及人数：30 人",
            "涉及金额：800,000.00 元",
            "群体性事件或集体停工：可能发生",
            "预警级别：一级预警",
            "接收单位：高罗镇协调劳动关系三方机制",
            report["enterprise"]["name"],
        ):
            assert line in text, (line, text)
        for english in ("gaoluo", "possible", "wage_arrears", "level1"):
            assert english not in text.split("一键确认")[0], english
        assert TIME.search(text) and "（北京时间）" in text
        (link,) = re.findall(r"https?://\S+/ack/\S+", text)
        assert link.startswith("http://127.0.0.1:8123/ack/")

        (hook,) = await eventually(polled(receiver.received))
        payload = verify(hook)
        assert payload["text"] == text and payload["subject"] == mail["Subject"]
        assert payload["ack_url"] == link
        assert payload["notification"]["id"] == notification["id"]

        async def sms_logged() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.getMessage().startswith("sms")]

        (sms,) = await eventually(sms_logged)
        short = sms.text
        assert "高罗镇" in short and "涉及30人" in short and "800,000.00 元" in short
        assert "可能发生" in short and TIME.search(short)
        assert "/ack/…" in short  # the link is in the message; its token is not in the log
        token = link.rsplit("/ack/", 1)[1]
        assert not [r for r in caplog.records if token in r.getMessage() + str(r.__dict__)]


async def test_a_drills_messages_say_so_first(
    sqlite_url: str, receiver: Receiver, mailbox: Mailbox
) -> None:
    async with drill(
        sqlite_url, time_scale=60, smtp_host="127.0.0.1", smtp_port=mailbox.port
    ) as system:
        await set_channels(
            system, ZHUSHAN, webhook(receiver), {"type": "email", "target": "z@example.test"}
        )
        await responsible(system, xuanen_report(), ZHUSHAN)
        (mail,) = await eventually(polled(mailbox.messages))
        assert mail["Subject"].startswith("【演练】")
        assert mail.get_payload(decode=True).decode().startswith("【演练】")
        (hook,) = await eventually(polled(receiver.received))
        assert hook.payload["subject"].startswith("【演练】")
        assert hook.payload["text"].startswith("【演练】")
        assert hook.payload["notification"]["drill"] is True
