"""The notifier: deliver warnings, hold each body to its reporting limit, escalate when late."""

from __future__ import annotations

import datetime as dt
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


def build_notifier(runtime: Runtime, *, http: httpx.AsyncClient | None = None) -> Notifier:
    """The notifier's service object on the runtime, with its channels."""
    settings = runtime.settings
    smtp = None
    if settings.smtp_host:
        smtp = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    senders: dict[str, Sender] = {
        "webhook": WebhookSender(http or httpx.AsyncClient(timeout=10)),
        "email": EmailSender(smtp),
        "sms": LoggingSmsGateway(),
    }
    # The link-signing key is derived, so that a link never exposes SECRET_KEY's other uses.
    signing_key = hashlib.sha256(b"ack-link:" + settings.effective_secret_key.encode()).digest()
    return Notifier(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        outbox=runtime.outbox(SERVICE),
        clock=runtime.clock,
        cipher=runtime.cipher,
        senders=senders,
        public_url=settings.public_url,
        signing_key=signing_key,
        reminder_fractions=settings.reminder_fractions,
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        ack_link_ttl=dt.timedelta(hours=settings.ack_link_ttl_hours),
    )


def service(runtime: Runtime, *, http: httpx.AsyncClient | None = None) -> Service:
    """Assemble the notifier's parts on the runtime."""
    client = http or httpx.AsyncClient(timeout=10)
    notifier = build_notifier(runtime, http=client)
    poll = runtime.settings.deadline_poll_seconds
    return Service(
        name=SERVICE,
        outbox=notifier.outbox,
        routers=[api.router(notifier)],
        consumers=consumers(notifier),
        workers=[
            deadline_clock(notifier, poll_seconds=poll),
            delivery_queue(notifier, poll_seconds=poll),
        ],
        closers=[] if http else [client.aclose],
    )


def create_app(runtime: Runtime) -> FastAPI:
    """The notifier on its own."""
    return build_app(runtime, [service(runtime)], title="laborwatch notifier")
