"""The console: server-rendered Chinese pages for the bureau's staff, calling /v1 as them."""

from __future__ import annotations

from libs.common.runtime import Runtime, Service
from services.console.pages import (
    admin,
    auth,
    cases,
    dashboard,
    incidents,
    monitoring,
    statistics,
    subscriptions,
    todo,
)
from services.console.web import Console

SERVICE = "console"

# One module per area; cases, insight and monitoring add theirs here (and their nav entry).
PAGES = (auth, dashboard, incidents, todo, cases, statistics, monitoring, subscriptions, admin)


def service(runtime: Runtime) -> Service:
    """Assemble the console's pages on the runtime."""
    console = Console.build(runtime)
    return Service(
        name=SERVICE,
        outbox=runtime.outbox(SERVICE),
        routers=[page.router(console) for page in PAGES],
        closers=[console.connector.close],
    )
