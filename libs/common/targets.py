"""Outbound targets (body channels' webhooks, sharing subscriptions): which may be called.

Only `http(s)` URLs; a loopback, link-local or unspecified address (an IPv4-mapped IPv6 one
included) is refused unless `LABORWATCH_ALLOW_LOCAL_TARGETS=true`, so that nobody can make the
service call itself, a cloud metadata endpoint or a port of the machine it runs on. A name is
checked again on the addresses it resolves to, at each delivery (CONTRACT.md, "Sharing").
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import socket
from urllib.parse import urlsplit

_LOCAL_NAMES = ("localhost", "localhost.localdomain")


def is_local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Say whether an address is this machine's or its link's (never a partner's server)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_link_local or address.is_unspecified


def target_problem(url: str, *, allow_local: bool) -> str | None:
    """What is wrong with an outbound URL as written, in a few words; None if nothing."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if allow_local:
        return None
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return "must not be this machine (localhost)"
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None  # a name: checked on what it resolves to when called
    if is_local(literal):
        return f"must not be a loopback, link-local or unspecified address ({literal})"
    return None


async def resolved_problem(url: str, *, allow_local: bool) -> str | None:
    """`target_problem`, then the same check on every address the host resolves to now."""
    problem = target_problem(url, allow_local=allow_local)
    if problem is not None or allow_local:
        return problem
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError:
        return f"its host {parts.hostname} cannot be resolved"
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if is_local(address):
            return f"resolves to a loopback, link-local or unspecified address ({address})"
    return None


def webhook_secret_problem(secret: str) -> str | None:
    """What is wrong with a Standard Webhooks secret (`whsec_` + base64); None if nothing."""
    if not secret.startswith("whsec_"):
        return "must be 'whsec_' followed by base64"
    try:
        raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return "the part after 'whsec_' is not valid base64"
    if len(raw) < 16:
        return "the decoded secret must be at least 16 bytes"
    return None
