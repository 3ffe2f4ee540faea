"""The intake service: validate, store and announce every report."""

from __future__ import annotations

from libs.common.groupcommit import GroupCommit
from libs.common.runtime import Runtime, Service
from services.intake import api
from services.intake.consumers import consumers
from services.intake.domain import AreaIndex
from services.intake.handlers import SERVICE, Intake
from services.intake.store import ReportStore
from services.intake.workers import personal_data_retention


def build_intake(runtime: Runtime) -> Intake:
    """Intake's operations on the runtime's database, outbox and registry."""
    return Intake(
        store=ReportStore(
            sessionmaker=runtime.sessionmaker,
            outbox=runtime.outbox(SERVICE),
            committer=GroupCommit(runtime.sessionmaker),
        ),
        registry=runtime.registry,
        cipher=runtime.cipher,
        areas=AreaIndex(runtime.registry),
        drill=runtime.settings.drill,
    )


def service(runtime: Runtime) -> Service:
    """Assemble intake's parts on the runtime."""
    intake = build_intake(runtime)
    return Service(
        name=SERVICE,
        outbox=intake.store.outbox,
        routers=[
            api.router(
                intake,
                webhook_secret=runtime.settings.hotline_webhook_secret,
                now=runtime.clock.now,
            )
        ],
        consumers=consumers(
            intake, alerts_per_second=runtime.settings.monitoring_alerts_per_second
        ),
        workers=[
            personal_data_retention(
                intake,
                retention_days=runtime.settings.personal_data_retention_days,
                clock=runtime.clock,
            )
        ],
    )
