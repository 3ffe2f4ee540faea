"""The cases service: an incident's disposal, from its first warning to its closure."""

from __future__ import annotations

from libs.common.runtime import Runtime, Service
from services.cases import api
from services.cases.consumers import consumers
from services.cases.service import SERVICE, Cases


def service(runtime: Runtime) -> Service:
    """Assemble the cases service's parts on the runtime."""
    cases = Cases(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        outbox=runtime.outbox(SERVICE),
        clock=runtime.clock,
        cipher=runtime.cipher,
    )
    return Service(
        name=SERVICE, outbox=cases.outbox, routers=[api.router(cases)], consumers=consumers(cases)
    )
