"""The notifier: deliver warnings, hold each body to its reporting limit, escalate when late."""

from __future__ import annotations

import hashlib

import httpx
from fastapi import FastAPI

from libs.common.runtime import Runtime, Service, build_app
from services.notifier import api
from services.notifier.channels import (
    EmailSender,
    LoggingSmsGateway,
    Sender,
    SmtpConfig,
    WebhookSender,
)
from services.notifier.consumers import consumers
from services.notifier.service import SERVICE, Notifier
from services.notifier.workers import deadline_clock, delivery_queue


def service(runtime: Runtime, *, http: httpx.AsyncClient | None = None) -> Service:
    """Assemble the notifier's parts on the runtime."""
    settings = runtime.settings
    outbox = runtime.outbox(SERVICE)
    smtp = (
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
        if settings.smtp_host
        else None
    )
    senders: dict[str, Sender] = {
        "webhook": WebhookSender(http or httpx.AsyncClient(timeout=10)),
        "email": EmailSender(smtp),
        "sms": LoggingSmsGateway(),
    }
    notifier = Notifier(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        outbox=outbox,
        clock=runtime.clock,
        cipher=runtime.cipher,
        senders=senders,
        public_url=settings.public_url,
        signing_key=hashlib.sha256(b"ack-link:" + settings.effective_secret_key.encode()).digest(),
        reminder_fractions=settings.reminder_fractions,
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
    )
    return Service(
        name=SERVICE,
        outbox=outbox,
        routers=[api.router(notifier)],
        consumers=consumers(notifier),
        workers=[
            deadline_clock(notifier, poll_seconds=settings.deadline_poll_seconds),
            delivery_queue(notifier, poll_seconds=settings.deadline_poll_seconds),
        ],
    )


def create_app(runtime: Runtime) -> FastAPI:
    """The notifier on its own."""
    return build_app(runtime, [service(runtime)], title="laborwatch notifier")
