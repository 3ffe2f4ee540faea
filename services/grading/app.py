"""The grading service; its rules, tables and consumers arrive with its own issue."""

from __future__ import annotations

from fastapi import FastAPI

from libs.common.runtime import Runtime, Service, build_app

SERVICE = "grading"


def service(runtime: Runtime) -> Service:
    """Assemble grading's parts on the runtime."""
    return Service(name=SERVICE, outbox=runtime.outbox(SERVICE))


def create_app(runtime: Runtime) -> FastAPI:
    """The grading service on its own."""
    return build_app(runtime, [service(runtime)], title="laborwatch grading")
