"""The monitoring service: monitored enterprises (定点监测), their monthly figures and alerts."""

from __future__ import annotations

from libs.common.runtime import Runtime, Service
from services.monitoring import api
from services.monitoring.consumers import consumers
from services.monitoring.policy import load_monitoring_policies
from services.monitoring.service import SERVICE, Monitoring
from services.monitoring.store import MonitoringStore
from services.monitoring.uploads import MAX_BYTES
from services.monitoring.workers import missing_timer


def build_monitoring(runtime: Runtime) -> Monitoring:
    """Monitoring's operations on the runtime's database, outbox and registry."""
    return Monitoring(
        store=MonitoringStore(sessionmaker=runtime.sessionmaker, outbox=runtime.outbox(SERVICE)),
        registry=runtime.registry,
        policies=load_monitoring_policies(runtime.registry),
        drill=runtime.settings.drill,
    )


def service(runtime: Runtime) -> Service:
    """Assemble monitoring's parts on the runtime."""
    monitoring = build_monitoring(runtime)
    return Service(
        name=SERVICE,
        outbox=monitoring.store.outbox,
        routers=[api.router(monitoring, now=runtime.clock.now)],
        consumers=consumers(monitoring),
        workers=[missing_timer(monitoring, clock=runtime.clock)],
        body_limits={"/v1/monitoring/observations": MAX_BYTES},
    )
