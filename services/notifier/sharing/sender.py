"""POST a shared event to a partner: signed per Standard Webhooks, to an address checked anew.

The host is resolved at each delivery and every address it resolves to is checked (no
loopback, link-local or unspecified address unless ALLOW_LOCAL_TARGETS); the request then goes
to the address that was checked (the name kept in `Host` and TLS's SNI), so a name that
resolves elsewhere a moment later cannot slip past. Redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import httpx
from standardwebhooks.webhooks import Webhook

from libs.common.targets import TargetRefused, connect_address, host_and_port

CONTENT_TYPE = "application/cloudevents+json"


class SendError(Exception):
    """A delivery that did not succeed; `status_code` is the receiver's answer, if any."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def sign(secrets: Sequence[str], msg_id: str, at: dt.datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)


class SharingSender:
    """Send shared events over its own HTTP client (short timeouts, no redirects)."""

    def __init__(self, client: httpx.AsyncClient, *, allow_local: bool) -> None:
        self._client = client
        self._allow_local = allow_local

    async def send(self, url: str, *, msg_id: str, body: str, secrets: Sequence[str]) -> int:
        """POST the CloudEvent; return the 2xx status, or raise SendError."""
        try:
            host, port = host_and_port(url)
            address = await connect_address(host, port, allow_local=self._allow_local)
        except TargetRefused as exc:
            raise SendError(f"the URL {exc}") from exc
        now = dt.datetime.now(dt.UTC)
        headers = {
            "content-type": CONTENT_TYPE,
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(secrets, msg_id, now, body),
            "host": _host_header(host, port, httpx.URL(url).scheme),
        }
        pinned = httpx.URL(url).copy_with(host=address)
        try:
            response = await self._client.post(
                pinned,
                content=body.encode(),
                headers=headers,
                extensions={"sni_hostname": host},
            )
        except httpx.TimeoutException as exc:
            raise SendError(f"timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise SendError(f"unreachable ({type(exc).__name__})") from exc
        if not response.is_success:  # a redirect (3xx) is not followed: a failure
            raise SendError(f"answered {response.status_code}", response.status_code)
        return response.status_code


def _host_header(host: str, port: int, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port == default else f"{shown}:{port}"


def client(timeout_seconds: float) -> httpx.AsyncClient:
    """The HTTP client of sharing: apart from the bodies' channels, short timeouts."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )
