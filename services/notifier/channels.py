"""Delivery channels: signed webhooks, email over SMTP, and an SMS gateway adapter."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

import aiosmtplib
import httpx
import orjson
from standardwebhooks.webhooks import Webhook

from libs.common.clock import SHANGHAI
from libs.common.privacy import mask_phone
from libs.common.targets import resolved_problem, webhook_secret_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """What one delivery sends: a Chinese text for people, a JSON payload for machines."""

    message_id: str  # stable per delivery: a receiver drops a retry it already has
    subject: str
    text: str
    payload: dict[str, Any]
    short: str = ""  # the SMS text


_ACK_TOKEN = re.compile(r"/ack/[A-Za-z0-9_-]+")


def without_tokens(text: str) -> str:
    """A text fit for the log: acknowledgement links lose their token."""
    return _ACK_TOKEN.sub("/ack/…", text)


@dataclass(frozen=True)
class Target:
    """Where a delivery goes."""

    address: str
    secret: str | None = None


class DeliveryError(Exception):
    """A channel could not deliver; the delivery is retried later."""


class Sender(Protocol):
    """A channel."""

    async def send(self, target: Target, message: Message) -> None: ...


class WebhookSender:
    """POST the payload as JSON, signed per Standard Webhooks with the body's secret."""

    def __init__(self, client: httpx.AsyncClient, *, allow_local: bool = False) -> None:
        self._client = client
        self._allow_local = allow_local

    async def send(self, target: Target, message: Message) -> None:
        """Deliver; any answer but 2xx is a failure (a redirect included: not followed)."""
        problem = await resolved_problem(target.address, allow_local=self._allow_local)
        if problem is not None:
            raise DeliveryError(f"webhook target refused: it {problem}")
        body = orjson.dumps(message.payload).decode()
        now = dt.datetime.now(dt.UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": message.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if target.secret:
            if bad := webhook_secret_problem(target.secret):  # saved before channels were checked
                raise DeliveryError(f"the channel's secret is unusable: it {bad}")
            headers["webhook-signature"] = Webhook(target.secret).sign(
                message.message_id, now, body
            )
        try:
            response = await self._client.post(
                target.address, content=body, headers=headers, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
        if not response.is_success:
            raise DeliveryError(f"webhook answered {response.status_code}")


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the mail server."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


class EmailSender:
    """Send the Chinese text by email over SMTP."""

    def __init__(self, config: SmtpConfig | None) -> None:
        self._config = config

    async def send(self, target: Target, message: Message) -> None:
        """Deliver to the address; no mail server configured is a failure, not a silence."""
        if self._config is None:
            raise DeliveryError("no SMTP server configured (LABORWATCH_SMTP_HOST)")
        email = EmailMessage()
        email["From"] = self._config.sender
        email["To"] = target.address
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.message_id}@laborwatch>"
        email["Date"] = format_datetime(dt.datetime.now(SHANGHAI))
        email.set_content(message.text)
        try:
            await aiosmtplib.send(
                email,
                hostname=self._config.host,
                port=self._config.port,
                username=self._config.username,
                password=self._config.password,
                start_tls=self._config.starttls,
                timeout=15,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email not accepted: {exc}") from exc


class SmsGateway(Protocol):
    """An SMS provider's API; a deployment plugs in its own."""

    async def send(self, target: Target, message: Message) -> None: ...


class LoggingSmsGateway:
    """Until a provider is plugged in: write the short message to the log (phone masked)."""

    async def send(self, target: Target, message: Message) -> None:
        """Log the message that would go out."""
        log.info(
            "sms (no gateway configured)",
            extra={"phone": mask_phone(target.address), "text": without_tokens(message.short)},
        )
