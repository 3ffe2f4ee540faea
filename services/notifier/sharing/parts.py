"""Sharing's parts on a runtime, for the notifier to serve: routes, consumer, worker."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from libs.common.consumer import Consumer
from libs.common.runtime import Runtime
from libs.common.workers import Worker
from services.notifier.sharing import api, consumers, worker
from services.notifier.sharing.sender import SharingSender, client
from services.notifier.sharing.service import Sharing


@dataclass
class Parts:
    """What sharing adds to the notifier's service."""

    sharing: Sharing
    routers: list[APIRouter] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    closers: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)


def build(runtime: Runtime) -> Parts:
    """Sharing on the runtime, with an HTTP client of its own (short timeouts, no redirects),
    apart from the one the bodies' webhooks use."""
    settings = runtime.settings
    http = client(settings.sharing_timeout_seconds)
    sharing = Sharing.of(
        settings,
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        cipher=runtime.cipher,
        clock=runtime.clock,
        sender=SharingSender(http, allow_local=settings.allow_local_targets),
    )
    return Parts(
        sharing=sharing,
        routers=[api.router(sharing)],
        consumers=consumers.consumers(sharing),
        workers=[worker.sharing_deliveries(sharing)],
        closers=[http.aclose],
    )
