"""A partner department's side, for the sharing tests: a real HTTP receiver with a path per
subscription, events to publish as the cases and monitoring services would, and a system
that can be stopped and started again on the same database."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
from asgi_lifespan import LifespanManager
from standardwebhooks.webhooks import Webhook

from laborwatch import apps
from libs.common.auth import Role, create_key
from libs.common.bus import Outgoing
from libs.common.contracts import (
    AlertData,
    AlertReport,
    BodyRef,
    CaseClosure,
    CaseData,
    CaseEvent,
    EnterpriseRef,
    EventData,
    MonitoringAlert,
)
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from tests.conftest import Running, make_settings


@dataclass
class Call:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def event(self) -> dict[str, Any]:
        return orjson.loads(self.body)  # type: ignore[no-any-return]

    def verify(self, secret: str) -> Any:
        """Check the Standard Webhooks signature as a partner would; the parsed body."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1; `answer(path)` gives each path's status, `delay` its
    seconds of silence before answering (a receiver that times out)."""

    answer: Callable[[str], int] = lambda path: 200
    delay: dict[str, float] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.calls.append(Call(self.path, headers, body, arrived))
                wait = receiver.delay.get(self.path, 0.0)
                if wait:
                    threading.Event().wait(wait)
                status = receiver.answer(self.path)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", receiver.url("/elsewhere"))
                self.send_header("content-length", "0")
                self.send_header("connection", "close")
                with contextlib.suppress(OSError):  # the sender gave up waiting
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def at(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def everything(self) -> list[Call]:
        with self._lock:
            return list(self.calls)


def sharing_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for sharing's tests: local receivers allowed, quick retries and polls."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "allow_local_targets": True,
        "sharing_backoff_seconds": 0.05,
        "sharing_backoff_max_seconds": 0.3,
        "sharing_poll_seconds": 0.05,
        "sharing_timeout_seconds": 1.0,
        "deadline_poll_seconds": 0.1,
    }
    values.update(overrides)
    return make_settings(**values)


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Running]:
    """The whole system on the settings, its tables kept (a restart), with fresh keys."""
    runtime = Runtime.from_settings(settings)
    keys = {}
    for role in ("admin", "reporter", "analyst"):
        extra = {"jurisdiction": "changchun"} if role == "analyst" else {}
        _, keys[role] = await create_key(
            runtime.sessionmaker, runtime.registry, name=role, role=Role(role), **extra
        )
    app = apps.all_in_one(runtime)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app=app, runtime=runtime, client=client, keys=keys)
    await runtime.engine.dispose()


async def subscribe(system: Running, url: str, **fields: Any) -> tuple[str, str]:
    """Subscribe a partner to Changchun's warnings (or as `fields` say); (id, secret)."""
    body: dict[str, Any] = {
        "name": "市信访局推送",
        "department": "长春市信访局",
        "jurisdiction": "changchun",
        "url": url,
        "events": ["incident.warning", "incident.closed", "case.closed"],
    }
    body.update(fields)
    r = await system.client.post("/v1/subscriptions", json=body, headers=system.auth())
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    return str(created["id"]), str(created["secret"])


async def publish(system: Running, data: EventData, *, subject: str) -> str:
    """Publish an event on the bus as its own service would; its id."""
    event = data.to_event(subject=subject, key=f"test:{subject}")
    await system.runtime.bus.publish([Outgoing(data.topic, event.partitionkey, event.to_bytes())])
    return event.id


def case_closed(
    incident_id: str, *, outcome: str = "已解决", regions: list[str] | None = None
) -> CaseEvent:
    """A case closed, as the cases service publishes it (with free text everywhere)."""
    now = dt.datetime.now(dt.UTC)
    body = BodyRef(body_id="changchun.leading_group_office", name="领导小组办公室")
    case = CaseData(
        id=str(uuid.uuid4()),
        incident_id=incident_id,
        jurisdiction="changchun",
        level="red",
        level_label="一级红色预警",
        level_rank=3,
        responsible_body=body,
        status="closed",
        plan=None,
        approval=None,
        progress=[],
        government_reports=[],
        form=None,
        closed=CaseClosure(at=now, by=outcome, resolution="resolved", outcome=outcome),
        opened_at=now,
        regions=regions or ["nanguan"],
        drill=False,
    )
    return CaseEvent(step="closed", at=now, by=outcome, summary_zh=outcome, case=case)


def alert(*, region: str = "chaoyang") -> MonitoringAlert:
    """A monitored enterprise's threshold alert, as the monitoring service publishes it."""
    data = AlertData(
        id=str(uuid.uuid4()),
        jurisdiction="changchun",
        region=region,
        credit_code="91220101MA0XXXXXX0",
        enterprise=EnterpriseRef(name="长春监测企业有限公司", credit_code=None, industry=None),
        period="2026-11",
        kind="threshold",
        indicator="wages_unpaid",
        value="2500000",
        reasons=["wages_unpaid >= 2000000"],
        reasons_zh=["欠薪金额达到200万元"],
        created_at=dt.datetime.now(dt.UTC),
    )
    report = AlertReport(
        category="wage_arrears",
        summary="欠薪金额达到200万元",
        workers_involved=0,
        amount_yuan=2500000,
        terminations=0,
        collective_action="none",
        extreme_individual=False,
        potential_major_impact=False,
    )
    return MonitoringAlert(alert=data, report=report)
