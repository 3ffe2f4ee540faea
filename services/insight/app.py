"""The insight service: statistics, briefings and review meetings from a read model of every
topic."""

from __future__ import annotations

from libs.common.runtime import Runtime, Service
from services.insight import api
from services.insight.consumers import consumer
from services.insight.service import SERVICE, Insight


def build_insight(runtime: Runtime) -> Insight:
    """Insight's service object on the runtime."""
    return Insight(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        clock=runtime.clock,
        outbox=runtime.outbox(SERVICE),
    )


def service(runtime: Runtime) -> Service:
    """Assemble insight's parts on the runtime."""
    insight = build_insight(runtime)
    return Service(
        name=SERVICE,
        outbox=insight.outbox,
        routers=[api.router(insight)],
        consumers=[consumer(runtime.registry)],
    )
