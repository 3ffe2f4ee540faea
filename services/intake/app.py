"""The intake service: validate, store and announce every report."""

from __future__ import annotations

from fastapi import FastAPI

from libs.common.groupcommit import GroupCommit
from libs.common.runtime import Runtime, Service, build_app
from services.intake import api
from services.intake.consumers import consumers
from services.intake.service import SERVICE, Intake


def service(runtime: Runtime) -> Service:
    """Assemble intake's parts on the runtime."""
    outbox = runtime.outbox(SERVICE)
    intake = Intake(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        cipher=runtime.cipher,
        outbox=outbox,
        committer=GroupCommit(runtime.sessionmaker),
    )
    return Service(
        name=SERVICE,
        outbox=outbox,
        routers=[
            api.router(
                intake,
                webhook_secret=runtime.settings.hotline_webhook_secret,
                now=runtime.clock.now,
            )
        ],
        consumers=consumers(intake),
    )


def create_app(runtime: Runtime) -> FastAPI:
    """The intake service on its own."""
    return build_app(runtime, [service(runtime)], title="laborwatch intake")
