"""The grading service: gather reports into incidents, grade them by policy, route them."""

from __future__ import annotations

from libs.common.runtime import Runtime, Service
from services.grading import api
from services.grading.cases import case_consumer
from services.grading.consumers import consumers
from services.grading.policy import load_policies
from services.grading.reviews import review_consumer
from services.grading.service import SERVICE, Grading


def service(runtime: Runtime) -> Service:
    """Assemble grading's parts on the runtime."""
    outbox = runtime.outbox(SERVICE)
    grading = Grading(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        policies=load_policies(runtime.registry, runtime.settings.jurisdictions_dir),
        outbox=outbox,
        clock=runtime.clock,
    )
    return Service(
        name=SERVICE,
        outbox=outbox,
        routers=[api.router(grading)],
        consumers=[*consumers(grading), review_consumer(grading), case_consumer(grading)],
    )
