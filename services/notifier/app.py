"""The notifier: deliver warnings, hold each body to its reporting limit, escalate when late."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import httpx

from libs.common.runtime import Runtime, Service
from services.notifier import api
from services.notifier.cases import case_consumer
from services.notifier.channels import (
    EmailSender,
    LoggingSmsGateway,
    Sender,
    SmtpConfig,
    WebhookSender,
    without_tokens,
)
from services.notifier.consumers import consumers
from services.notifier.links import AckLinks
from services.notifier.service import SERVICE, Notifier
from services.notifier.workers import deadline_clock, delivery_queue


def build_notifier(runtime: Runtime, *, http: httpx.AsyncClient) -> Notifier:
    """The notifier's service object on the runtime, with its channels (webhooks go through
    `http`, which the caller closes)."""
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
        "webhook": WebhookSender(http, allow_local=settings.allow_local_targets),
        "email": EmailSender(smtp),
        "sms": LoggingSmsGateway(),
    }
    # The link-signing key is derived, so that a link never exposes SECRET_KEY's other uses.
    signing_key = hashlib.sha256(b"ack-link:" + settings.effective_secret_key.encode()).digest()
    links = AckLinks(
        public_url=settings.effective_public_url,
        signing_key=signing_key,
        ttl=dt.timedelta(hours=settings.ack_link_ttl_hours),
    )
    return Notifier(
        sessionmaker=runtime.sessionmaker,
        registry=runtime.registry,
        outbox=runtime.outbox(SERVICE),
        clock=runtime.clock,
        cipher=runtime.cipher,
        senders=senders,
        links=links,
        reminder_fractions=settings.reminder_fractions,
        max_attempts=settings.delivery_max_attempts,
        backoff_seconds=settings.delivery_backoff_seconds,
        allow_local_targets=settings.allow_local_targets,
    )


def service(runtime: Runtime, *, http: httpx.AsyncClient | None = None) -> Service:
    """Assemble the notifier's parts on the runtime."""
    client = http or httpx.AsyncClient(timeout=runtime.settings.delivery_timeout_seconds)
    _keep_tokens_out_of_access_logs()
    notifier = build_notifier(runtime, http=client)
    poll = runtime.settings.deadline_poll_seconds
    # Sharing with partner departments is a service of its own (services/notifier/sharing).
    return Service(
        name=SERVICE,
        outbox=notifier.outbox,
        routers=[api.router(notifier)],
        consumers=[
            *consumers(notifier),
            case_consumer(
                notifier,
                public_url=runtime.settings.effective_public_url,
                console_url=runtime.settings.effective_console_url,
            ),
        ],
        workers=[
            deadline_clock(notifier, poll_seconds=poll),
            delivery_queue(notifier, poll_seconds=poll),
        ],
        closers=[] if http else [client.aclose],
    )


class _NoAckTokens(logging.Filter):
    """Drop the token of one-click acknowledgement links from the server's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(without_tokens(a) if isinstance(a, str) else a for a in record.args)
        return True


def _keep_tokens_out_of_access_logs() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoAckTokens) for f in access.filters):
        access.addFilter(_NoAckTokens())
