"""Sharing with partner departments as a service of its own (`laborwatch serve sharing`).

It is the notifier's (its tables are the notifier's), but it runs apart from the bodies'
deliveries: a partner's calls, however many and however slow, take nothing from the time a
body's warning needs. `laborwatch run` serves it in the one process with everything else.
"""

from __future__ import annotations

from libs.common.runtime import Runtime, Service
from services.notifier.sharing import parts

SERVICE = "sharing"


def service(runtime: Runtime) -> Service:
    """Sharing's routes (`/v1/subscriptions`), consumer and delivery worker on the runtime."""
    built = parts.build(runtime)
    return Service(
        name=SERVICE,
        outbox=runtime.outbox(SERVICE),
        routers=built.routers,
        consumers=built.consumers,
        workers=built.workers,
        closers=built.closers,
    )
