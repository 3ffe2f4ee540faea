"""The runtime a process shares between its services, and the app builder each service uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.common.auth import FailureLimit, KeyCache
from libs.common.bus import EventBus, InProcessBus, describe
from libs.common.clock import Clock
from libs.common.consumer import Consumer, ConsumerRunner
from libs.common.db import create_engine, create_sessionmaker
from libs.common.http import BodyLimitMiddleware, RequestContextMiddleware, refuse_nul
from libs.common.jurisdictions import Registry
from libs.common.kafka import KafkaBus
from libs.common.mode import fix_mode
from libs.common.outbox import Outbox
from libs.common.privacy import Cipher
from libs.common.problems import (
    TYPE_BASE,
    document_problems,
    install_problem_handlers,
    problem_response,
)
from libs.common.settings import Settings
from libs.common.workers import Worker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Settings and the shared parts built from them: database, bus, registry, cipher, clock."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    registry: Registry
    cipher: Cipher
    clock: Clock
    keys: KeyCache
    auth_failures: FailureLimit

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Build the runtime; nothing connects until `start`."""
        engine = create_engine(settings.database_url)
        sessionmaker = create_sessionmaker(engine)
        bus: EventBus = (
            KafkaBus(settings.kafka_bootstrap_servers)
            if settings.kafka_bootstrap_servers
            else InProcessBus(sessionmaker)
        )
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            bus=bus,
            registry=Registry.load(settings.jurisdictions_dir),
            cipher=Cipher(settings.effective_secret_key),
            clock=Clock(settings.time_scale),
            keys=KeyCache(settings.api_key_cache_seconds),
            auth_failures=FailureLimit(settings.auth_failures_per_minute),
        )

    def outbox(self, producer: str) -> Outbox:
        """Make the outbox of one producing service."""
        return Outbox(
            producer=producer,
            sessionmaker=self.sessionmaker,
            bus=self.bus,
            poll_seconds=self.settings.outbox_poll_seconds,
            linger_seconds=self.settings.batch_linger_seconds,
        )

    def runner(self, consumer: Consumer, outbox: Outbox) -> ConsumerRunner:
        """Make the runner of one consumer, with the configured retry policy."""
        return ConsumerRunner(
            consumer,
            bus=self.bus,
            sessionmaker=self.sessionmaker,
            outbox=outbox,
            max_attempts=self.settings.consumer_max_attempts,
            backoff_seconds=self.settings.consumer_backoff_seconds,
            linger_seconds=self.settings.batch_linger_seconds,
        )

    async def check_ready(self) -> dict[str, str]:
        """Check the database and the bus; map each to 'ok' or what is wrong."""
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(3):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unavailable: {type(error).__name__}"
        try:
            async with asyncio.timeout(3):
                await self.bus.ping()
            checks["bus"] = "ok"
        except Exception as error:
            checks["bus"] = f"unavailable: {type(error).__name__}"
        return checks


@dataclass
class Service:
    """What one service brings to a process: routes, consumers, background workers."""

    name: str
    outbox: Outbox
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[Consumer] = ()
    workers: Sequence[Worker] = field(default_factory=list)
    # Called once at shutdown, after the workers stopped (e.g. to close an HTTP client).
    closers: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    # Routes that take bodies over the process's limit (exact path → bytes).
    body_limits: Mapping[str, int] = field(default_factory=dict)


def build_app(runtime: Runtime, services: Sequence[Service], *, title: str) -> FastAPI:
    """Build one ASGI app serving the given services, with their relays and consumers."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A drill process never starts on a real database, nor a real one on a drill's.
        await fix_mode(runtime.sessionmaker, time_scale=runtime.settings.time_scale)
        try:
            await runtime.bus.start()
        except Exception:
            # Accept reports even while the broker is away; the relay publishes them later.
            log.warning("event bus unavailable at start; will keep trying", exc_info=True)
        runners = [runtime.runner(c, s.outbox) for s in services for c in s.consumers]
        tasks = [asyncio.create_task(s.outbox.run(), name=f"outbox:{s.name}") for s in services]
        tasks += [asyncio.create_task(r.run(), name=f"consumer:{r.consumer.name}") for r in runners]
        tasks += [
            asyncio.create_task(w(), name=f"worker:{getattr(w, '__name__', w)}")
            for s in services
            for w in s.workers
        ]
        log.info(
            "started", extra={"services": [s.name for s in services], "bus": describe(runtime.bus)}
        )
        try:
            yield
        finally:
            await _shutdown(runtime, services, runners, tasks)
            log.info("stopped")

    # /docs and /redoc with Swagger UI's and ReDoc's files served from the package, never from
    # a CDN: bureau networks are often cut off from the internet (CONTRACT.md, "Offline").
    app = FastAPIOffline(
        title=title,
        version="1.0.0",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        description="Labor-relations risk monitoring and early warning (劳动关系领域风险监测预警).",
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    document_problems(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=runtime.settings.max_body_bytes,
        paths={path: n for s in services for path, n in s.body_limits.items()},
    )
    app.add_middleware(RequestContextMiddleware, service="+".join(s.name for s in services))
    app.include_router(operations_router(runtime))
    for service in services:
        for router in service.routers:
            app.include_router(router)
    return app


async def _shutdown(
    runtime: Runtime,
    services: Sequence[Service],
    runners: Sequence[ConsumerRunner],
    tasks: Sequence[asyncio.Task[None]],
) -> None:
    """Stop in order, each step bounded, so that a stuck step is named, not waited on forever.

    Consumers finish the batch in hand and commit offsets; relays, consumers and workers are
    then cancelled; one last relay sends what was accepted; then the bus and the database.
    """
    for runner in runners:
        runner.stop()
    consumer_tasks = [t for t in tasks if t.get_name().startswith("consumer:")]
    if consumer_tasks:
        await asyncio.wait(consumer_tasks, timeout=10)
    for task in tasks:
        task.cancel()
    if tasks:
        _, stuck = await asyncio.wait(tasks, timeout=5)
        for task in stuck:
            log.warning(
                "task %s did not stop when cancelled",
                task.get_name(),
                extra={"task": task.get_name(), "stack": [repr(f) for f in task.get_stack()]},
            )
    for s in services:  # one last relay, so that what was accepted leaves promptly
        with contextlib.suppress(Exception):
            await asyncio.wait_for(s.outbox.relay_once(), 5)
    for s in services:
        for close in s.closers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close(), 5)
    for name, step in (("bus", runtime.bus.stop), ("database", runtime.engine.dispose)):
        try:
            await asyncio.wait_for(step(), 10)
        except Exception:
            log.warning("could not stop the %s cleanly", name, exc_info=True)


def operations_router(runtime: Runtime) -> APIRouter:
    """`/healthz`, `/readyz` and `/metrics`, open to the operations team without a key."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database and the bus are reachable",
        responses={503: {"description": "a dependency is unavailable"}},
    )
    async def readyz() -> JSONResponse:
        checks = await runtime.check_ready()
        down = [name for name, state in checks.items() if state != "ok"]
        if down:
            return problem_response(
                None,
                503,
                f"not ready: {', '.join(down)} unavailable",
                type_=TYPE_BASE + "not-ready",
                checks=checks,
            )
        return JSONResponse({"status": "ready", "checks": checks})

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
