"""Structured logs: JSON lines with the request id, personal data and link tokens masked."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from types import TracebackType
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from libs.common.privacy import redact

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


# A one-click acknowledgement link's token acknowledges for whoever holds it: never logged (the
# access log writes every path).
_ACK_TOKEN = re.compile(r"(/ack/)[^\s/?#\"']+")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def scrub(text: str) -> str:
    """Mask personal data and link tokens in a text bound for the logs."""
    return _ACK_TOKEN.sub(r"\1***", redact(text))


class _Context(logging.Filter):
    """Add the request id to every record and mask personal data in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


class _ScrubbedJson(JsonFormatter):
    def formatException(self, ei: ExcInfo) -> str | list[str]:  # type: ignore[override]
        formatted = super().formatException(ei)
        return scrub(formatted) if isinstance(formatted, str) else [scrub(f) for f in formatted]


class _ScrubbedText(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:
        return scrub(super().formatException(ei))


def log_handler(*, json: bool = True, stream: TextIO | None = None) -> logging.Handler:
    """The handler every process logs through: JSON lines (or text), scrubbed, with ids."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if json:
        handler.setFormatter(
            _ScrubbedJson(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            _ScrubbedText("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
        )
    handler.addFilter(_Context())
    return handler


def configure_logging(*, level: str = "INFO", json: bool = True) -> None:
    """Send the root logger's records to stderr, as JSON lines unless told otherwise."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler(json=json)]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
