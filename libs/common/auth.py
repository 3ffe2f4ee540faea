"""API keys, staff users' tokens, roles and scopes.

A key is 32 random bytes, shown once; only its SHA-256 is stored. (A fast hash is right for
keys of full entropy: there is nothing to guess, so a slow password hash would add latency to
every request and no safety.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.jurisdictions import Registry
from libs.common.problems import Problem
from libs.common.stafftokens import TOKEN_PREFIX, is_current, signing_key, verify
from libs.common.tables import ApiKey

KEY_PREFIX = "lw_"


class Role(enum.StrEnum):
    """What a key may do."""

    REPORTER = "reporter"  # submits reports
    RESPONDER = "responder"  # acts for one body
    ANALYST = "analyst"  # reads one jurisdiction
    ADMIN = "admin"  # everything


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    key_id: str
    name: str
    role: Role
    jurisdiction: str | None
    body_id: str | None
    # The body's region (a township's body) and whether it is outside the bureau (external):
    # both narrow what a responder reads (libs.common.access).
    region: str | None = None
    external: bool = False

    @property
    def actor(self) -> str:
        """Who acted, as timelines and acknowledgements record it: the key or user, and the
        body it acts for."""
        return f"{self.name} ({self.body_id})" if self.body_id else self.name


def hash_key(key: str) -> str:
    """Hash a key for storage and lookup."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class KeyCache:
    """Principals by key hash, kept for a few seconds: one query fewer on most requests.

    Only keys found live are kept, so a new key works at once; a revoked key keeps working in
    a process for at most `seconds` (0 turns the cache off). When a key's entry expires, the
    requests in flight with it share one lookup, not one each (and a pool's worth of
    connections).
    """

    seconds: float
    max_entries: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, Principal]] = field(default_factory=dict)
    _loading: dict[str, asyncio.Future[Principal | None]] = field(default_factory=dict)

    async def resolve(
        self, key_hash: str, load: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        """The principal of a key: kept, or loaded once for every request asking meanwhile."""
        found = self.get(key_hash)
        if found is not None:
            return found
        loading = self._loading.get(key_hash)
        if loading is None:
            loading = self._loading[key_hash] = asyncio.ensure_future(self._load(key_hash, load))
        # Shielded: a request that goes away does not cancel the lookup others wait on.
        return await asyncio.shield(loading)

    async def _load(
        self, key_hash: str, load: Callable[[], Awaitable[Principal | None]]
    ) -> Principal | None:
        try:
            principal = await load()
        finally:
            del self._loading[key_hash]
        if principal is not None:
            self.put(key_hash, principal)
        return principal

    def get(self, key_hash: str) -> Principal | None:
        """The principal of a key seen live less than `seconds` ago, if any."""
        found = self._entries.get(key_hash)
        if found is None:
            return None
        if self.clock() - found[0] >= self.seconds:
            del self._entries[key_hash]
            return None
        return found[1]

    def put(self, key_hash: str, principal: Principal) -> None:
        """Keep a live key's principal (forgetting everything when full: keys are few)."""
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_hash] = (self.clock(), principal)


@dataclass
class FailureLimit:
    """Failed authentications (unknown or revoked keys) per client address: past `limit` in a
    minute, the client is answered 429 without a lookup until the oldest failure is a minute
    old, so a guessing client cannot make every bad key a database query."""

    limit: int
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)

    def retry_after(self, client: str) -> int | None:
        """Seconds the client must wait before trying a key again, or None."""
        recent = self._recent(client)
        if len(recent) < self.limit:
            return None
        return max(1, int(recent[0] + self.window - self.clock()) + 1)

    def failed(self, client: str) -> None:
        """Count a failed authentication of the client."""
        if len(self._failures) >= 10_000:  # many clients: forget the quiet ones
            self._failures = {c: f for c, f in self._failures.items() if self._recent(c)}
        self._recent(client).append(self.clock())

    def _recent(self, client: str) -> list[float]:
        since = self.clock() - self.window
        kept = [at for at in self._failures.get(client, ()) if at > since]
        self._failures[client] = kept
        return kept


class KeyError_(ValueError):
    """A key that cannot be made as asked."""


def checked_scope(
    registry: Registry,
    role: Role,
    jurisdiction: str | None,
    body_id: str | None,
    *,
    what: str = "key",
) -> str | None:
    """The jurisdiction of a key (or staff user) of the role, body and jurisdiction asked for:
    the body's own; KeyError_ when they do not fit together."""
    if role is Role.RESPONDER and body_id is None:
        raise KeyError_(f"a responder {what} needs --body")
    if body_id is not None:
        found = registry.body(body_id)
        if found is None:
            raise KeyError_(f"unknown body {body_id!r}")
        if jurisdiction not in (None, found[0].id):
            raise KeyError_(f"body {body_id} is not in jurisdiction {jurisdiction}")
        jurisdiction = found[0].id
    if jurisdiction is not None and registry.get(jurisdiction) is None:
        raise KeyError_(f"unknown jurisdiction {jurisdiction!r}")
    if role is Role.ANALYST and jurisdiction is None:
        raise KeyError_(f"an analyst {what} needs --jurisdiction")
    return jurisdiction


async def create_key(
    sessionmaker: async_sessionmaker[AsyncSession],
    registry: Registry,
    *,
    name: str,
    role: Role,
    jurisdiction: str | None = None,
    body_id: str | None = None,
) -> tuple[ApiKey, str]:
    """Make a key; return its row and the key itself, which is never stored."""
    jurisdiction = checked_scope(registry, role, jurisdiction, body_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        id=str(uuid.uuid4()),
        name=name,
        role=role.value,
        jurisdiction=jurisdiction,
        body_id=body_id,
        prefix=key[:10],
        key_hash=hash_key(key),
        created_at=dt.datetime.now(dt.UTC),
    )
    async with sessionmaker.begin() as session:
        session.add(row)
    return row, key


async def list_keys(sessionmaker: async_sessionmaker[AsyncSession]) -> list[ApiKey]:
    """List every key, newest first."""
    async with sessionmaker() as session:
        rows = await session.execute(select(ApiKey).order_by(ApiKey.created_at.desc()))
        return list(rows.scalars())


async def revoke_key(sessionmaker: async_sessionmaker[AsyncSession], key_id: str) -> bool:
    """Revoke a key by id (or unique id prefix); say whether one was revoked."""
    async with sessionmaker.begin() as session:
        result = await session.execute(
            update(ApiKey)
            .where(ApiKey.id.startswith(key_id), ApiKey.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def has_admin(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Say whether any admin key is live."""
    async with sessionmaker() as session:
        found = await session.scalar(
            select(ApiKey.id)
            .where(ApiKey.role == Role.ADMIN.value, ApiKey.revoked_at.is_(None))
            .limit(1)
        )
        return found is not None


_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`Authorization: Bearer lw_…`) or a staff user's token (`lwu_…`)",
)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Resolve the bearer key to a principal, or answer 401."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "an API key is required: Authorization: Bearer <key>", headers=challenge)
    runtime = request.app.state.runtime
    client = request.client.host if request.client else "unknown"
    wait = runtime.auth_failures.retry_after(client)
    if wait is not None:
        raise Problem(
            429,
            "too many failed authentications from this client; retry later",
            headers={"Retry-After": str(wait)},
        )
    key_hash = hash_key(credentials.credentials)
    registry: Registry = runtime.registry
    if credentials.credentials.startswith(TOKEN_PREFIX):
        staff: Principal | None = await runtime.keys.resolve(
            key_hash, lambda: _staff_principal(runtime, credentials.credentials)
        )
        if staff is None:
            raise Problem(401, "the staff token is invalid, expired or void", headers=challenge)
        return staff

    async def load() -> Principal | None:
        async with runtime.sessionmaker() as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))
        if row is None or row.revoked_at is not None:
            return None
        found = registry.body(row.body_id) if row.body_id else None
        return Principal(
            key_id=row.id,
            name=row.name,
            role=Role(row.role),
            jurisdiction=row.jurisdiction,
            body_id=row.body_id,
            region=found[1].region if found else None,
            external=found[1].external if found else False,
        )

    principal: Principal | None = await runtime.keys.resolve(key_hash, load)
    if principal is None:
        runtime.auth_failures.failed(client)
        raise Problem(401, "the API key is unknown or revoked", headers=challenge)
    return principal


async def _staff_principal(runtime: Any, token: str) -> Principal | None:
    """The principal of a staff user's token (libs.common.stafftokens), if it is current."""
    key = signing_key(runtime.settings.effective_secret_key)
    claims = verify(token, key, now=dt.datetime.now(dt.UTC))
    if claims is None or not await is_current(runtime.sessionmaker, claims):
        return None
    found = runtime.registry.body(claims.body_id) if claims.body_id else None
    return Principal(
        key_id=f"user:{claims.user_id}",
        name=claims.name,
        role=Role(claims.role),
        jurisdiction=claims.jurisdiction,
        body_id=claims.body_id,
        region=found[1].region if found else None,
        external=found[1].external if found else False,
    )


def require(*roles: Role) -> object:
    """A dependency that lets only the given roles (and admin) through; 403 otherwise."""

    # One dependency, not one on top of `authenticate`: each level costs every request.
    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        return _allowed(await authenticate(request, credentials), roles)

    return Depends(check)


async def principal_of(request: Request, *roles: Role) -> Principal:
    """What `require(*roles)` gives, for a route served without dependency injection
    (libs.common.routes.ServedDirectly)."""
    return _allowed(await authenticate(request, await _bearer(request)), roles)


def _allowed(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    if principal.role is not Role.ADMIN and principal.role not in roles:
        allowed = ", ".join(sorted({r.value for r in (*roles, Role.ADMIN)}))
        raise Problem(403, f"role {principal.role.value} may not do this (allowed: {allowed})")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
