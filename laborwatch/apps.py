"""The apps a process can serve: every service in one, or one service alone."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from libs.common.runtime import Runtime, Service, build_app
from services.cases import app as cases
from services.console import app as console
from services.grading import app as grading
from services.insight import app as insight
from services.intake import app as intake
from services.monitoring import app as monitoring
from services.notifier import app as notifier
from services.notifier.sharing import app as sharing

SERVICES: dict[str, Callable[[Runtime], Service]] = {
    "intake": intake.service,
    "grading": grading.service,
    "notifier": notifier.service,
    "sharing": sharing.service,
    "cases": cases.service,
    "monitoring": monitoring.service,
    "insight": insight.service,
    "console": console.service,
}


def all_in_one(runtime: Runtime) -> FastAPI:
    """Every service (and the console) in one process, one app."""
    return build_app(runtime, [make(runtime) for make in SERVICES.values()], title="laborwatch")


def one(runtime: Runtime, name: str) -> FastAPI:
    """One service alone, with its API, relay, consumers and workers."""
    return build_app(runtime, [SERVICES[name](runtime)], title=f"laborwatch {name}")
