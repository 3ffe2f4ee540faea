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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """A target a call may not go to, in a few words."""


def is_local(address: Address | str) -> bool:
    """Say whether an address is this machine's or its link's (never a partner's server)."""
    if isinstance(address, str):
        found = literal_address(address)
        if found is None:
            return False
        address = found
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_link_local or address.is_unspecified


def literal_address(host: str) -> Address | None:
    """The address a host names literally, in any form a resolver reads (`127.0.0.1`,
    `::ffff:7f00:1`, and `2130706433`, `0x7f.1`, `127.1`); None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(socket.inet_ntoa(socket.inet_aton(host)))
    except OSError:
        return None


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port of an `http(s)` URL with no user name or password; TargetRefused for
    anything else."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # parsed lazily: a bad one fails here
    except ValueError as exc:
        raise TargetRefused("is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http:// or https:// URL")
    if not host or not host.rstrip("."):
        raise TargetRefused("must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry a user name or password")
    return host, port or (443 if parts.scheme == "https" else 80)


def target_problem(url: str, *, allow_local: bool) -> str | None:
    """What is wrong with an outbound URL as written, in a few words; None if nothing."""
    try:
        host, _ = host_and_port(url)
    except TargetRefused as exc:
        return str(exc)
    host = host.rstrip(".").lower()
    if allow_local:
        return None
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return "must not be this machine (localhost)"
    literal = literal_address(host)
    if literal is not None and is_local(literal):
        return f"must not be a loopback, link-local or unspecified address ({literal})"
    return None  # a name: checked on what it resolves to when called


async def connect_address(host: str, port: int, *, allow_local: bool) -> str:
    """The address to connect to for a host, resolved now; TargetRefused if it does not
    resolve, or if any address it resolves to is local (unless `allow_local`). Connecting to
    the address checked here, not the name, keeps a name that resolves elsewhere a moment
    later from slipping past."""
    literal = literal_address(host)
    if literal is not None:
        if not allow_local and is_local(literal):
            raise TargetRefused(f"is a loopback, link-local or unspecified address ({literal})")
        return str(literal)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode
        raise TargetRefused(f"its host {host} cannot be resolved") from exc
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise TargetRefused(f"its host {host} cannot be resolved")
    for address in addresses:
        if not allow_local and is_local(address):
            raise TargetRefused(
                f"resolves to a loopback, link-local or unspecified address ({address})"
            )
    return addresses[0]


async def resolved_problem(url: str, *, allow_local: bool) -> str | None:
    """`target_problem`, then the same check on every address the host resolves to now."""
    problem = target_problem(url, allow_local=allow_local)
    if problem is not None or allow_local:
        return problem
    try:
        await connect_address(*host_and_port(url), allow_local=allow_local)
    except TargetRefused as exc:
        return str(exc)
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
