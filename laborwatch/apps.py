"""The apps a process can serve: every service in one, or one service alone.

A service's module is imported only when a process serves it: `laborwatch serve intake`
loads neither the console's templates nor insight's charts (matplotlib), and keeps about
60 MiB less resident, with fewer objects for the garbage collector to walk."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from fastapi import FastAPI

from libs.common.runtime import Runtime, Service, build_app

# name -> the module whose `service(runtime)` builds it
SERVICES: dict[str, str] = {
    "intake": "services.intake.app",
    "grading": "services.grading.app",
    "notifier": "services.notifier.app",
    "sharing": "services.notifier.sharing.app",
    "cases": "services.cases.app",
    "monitoring": "services.monitoring.app",
    "insight": "services.insight.app",
    "console": "services.console.app",
}


def maker(name: str) -> Callable[[Runtime], Service]:
    """The function that builds the service `name` (importing its module now)."""
    make: Callable[[Runtime], Service] = importlib.import_module(SERVICES[name]).service
    return make


def all_in_one(runtime: Runtime) -> FastAPI:
    """Every service (and the console) in one process, one app."""
    services = [maker(name)(runtime) for name in SERVICES]
    return build_app(runtime, services, title="laborwatch")


def one(runtime: Runtime, name: str) -> FastAPI:
    """One service alone, with its API, relay, consumers and workers."""
    return build_app(runtime, [maker(name)(runtime)], title=f"laborwatch {name}")
