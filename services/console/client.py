"""The console's client of the services' public `/v1` API, as the signed-in user.

In `laborwatch run` every service is in the console's own app, so requests go in process
(httpx over ASGITransport on that app); in the stack, each service is reached at its
`LABORWATCH_<SERVICE>_URL`. Each request carries a staff token signed for the user
(libs.common.stafftokens): the services apply the user's role and scope themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.stafftokens import StaffClaims, sign
from services.console.domain import TOKEN_TTL
from services.console.tables import StaffUser

# Which service answers which path of /v1 (the first matching prefix wins).
ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1/reports", "intake"),
    ("/v1/jurisdictions", "intake"),
    ("/v1/incidents", "grading"),
    ("/v1/notifications", "notifier"),
    ("/v1/bodies", "notifier"),
    ("/v1/cases", "cases"),
    ("/v1/statistics", "insight"),
    ("/v1/briefings", "insight"),
    ("/v1/reviews", "insight"),
    ("/v1/monitoring", "monitoring"),
    ("/v1/subscriptions", "sharing"),
)


class ServiceUrls(BaseSettings):
    """Where each service is, when the console runs as a process of its own."""

    model_config = SettingsConfigDict(env_prefix="LABORWATCH_", extra="ignore", frozen=True)

    intake_url: str | None = None
    grading_url: str | None = None
    notifier_url: str | None = None
    cases_url: str | None = None
    insight_url: str | None = None
    monitoring_url: str | None = None
    sharing_url: str | None = None

    def of(self, service: str) -> str | None:
        """The base URL of a service, or None (then it is in this process)."""
        value: str | None = getattr(self, f"{service}_url", None)
        return value.rstrip("/") if value else None


def service_of(path: str) -> str:
    """The service answering a /v1 path."""
    for prefix, service in ROUTES:
        if path.startswith(prefix):
            return service
    raise ValueError(f"no service answers {path}")


@dataclass
class ApiError(Exception):
    """A problem answer of the API, kept for the page to show."""

    status: int
    detail: str
    errors: list[dict[str, Any]]


def _problem(response: httpx.Response) -> ApiError:
    """The ApiError of a problem answer."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    return ApiError(
        status=response.status_code,
        detail=str(body.get("detail") or response.reason_phrase),
        errors=list(body.get("errors") or []),
    )


class Api:
    """The /v1 API for one user during one request."""

    def __init__(self, http: httpx.AsyncClient, urls: ServiceUrls, token: str) -> None:
        self._http = http
        self._urls = urls
        self._headers = {"Authorization": f"Bearer {token}"}

    def _url(self, path: str) -> str:
        base = self._urls.of(service_of(path))
        return f"{base}{path}" if base else f"http://console.internal{path}"

    async def call(
        self, method: str, path: str, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """Call the API; return its JSON, or raise ApiError with its problem."""
        response = await self._http.request(
            method, self._url(path), headers={**self._headers, **(extra_headers or {})}, **kwargs
        )
        if response.status_code >= 400:
            raise _problem(response)
        return response.json() if response.content else None

    async def get(self, path: str, **params: Any) -> Any:
        """GET a path with query parameters (None ones left out)."""
        query = {k: v for k, v in params.items() if v not in (None, "")}
        return await self.call("GET", path, params=query)

    async def post(self, path: str, body: Any) -> Any:
        """POST a JSON body."""
        return await self.call("POST", path, json=body)

    async def put(self, path: str, body: Any) -> Any:
        """PUT a JSON body."""
        return await self.call("PUT", path, json=body)

    async def delete(self, path: str) -> Any:
        """DELETE a path."""
        return await self.call("DELETE", path)

    async def send(self, path: str, content: bytes, content_type: str) -> Any:
        """POST a file's bytes as they are (a CSV or a workbook)."""
        return await self.call(
            "POST", path, content=content, extra_headers={"Content-Type": content_type}
        )

    async def download(self, path: str) -> httpx.Response:
        """GET a file (a .docx or .xlsx): the whole answer, or ApiError with its problem."""
        response = await self._http.get(self._url(path), headers=self._headers)
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def every(self, path: str, *, pages: int = 20, **params: Any) -> AsyncIterator[Any]:
        """Each item of a paged list, following next_cursor (at most `pages` pages)."""
        cursor: str | None = None
        for _ in range(pages):
            page = await self.get(path, limit=500, cursor=cursor, **params)
            for item in page["items"]:
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return


class Connector:
    """Makes an Api for a user: in process on the app, or over HTTP to each service."""

    def __init__(self, urls: ServiceUrls, key: bytes) -> None:
        self.urls = urls
        self.key = key
        self._remote = httpx.AsyncClient(timeout=15)
        self._local: httpx.AsyncClient | None = None
        # A user's token is reused while it has a minute left: the services cache a token's
        # principal as they cache a key's, so one token a page would crowd their cache.
        self._tokens: dict[tuple[str, int], tuple[dt.datetime, str]] = {}

    def for_user(self, user: StaffUser, app: FastAPI) -> Api:
        """The API as this user (a token valid TOKEN_TTL, of the user's generation)."""
        return Api(self._client(app), self.urls, self._token(user))

    def _token(self, user: StaffUser) -> str:
        now = dt.datetime.now(dt.UTC)
        kept = self._tokens.get((user.id, user.generation))
        if kept is not None and kept[0] - now > dt.timedelta(minutes=1):
            return kept[1]
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        expires_at = now + TOKEN_TTL
        token = sign(claims_of(user, expires_at=expires_at), self.key)
        self._tokens[(user.id, user.generation)] = (expires_at, token)
        return token

    def _client(self, app: FastAPI) -> httpx.AsyncClient:
        if any(self.urls.of(s) for _, s in ROUTES):
            return self._remote
        if self._local is None:
            self._local = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=15)
        return self._local

    async def close(self) -> None:
        """Close the HTTP clients."""
        await self._remote.aclose()
        if self._local is not None:
            await self._local.aclose()


def claims_of(user: StaffUser, *, expires_at: dt.datetime) -> StaffClaims:
    """What a token the console signs says of its user, until `expires_at`."""
    return StaffClaims(
        user_id=user.id,
        name=user.name,
        role=user.role,
        jurisdiction=user.jurisdiction,
        body_id=user.body_id,
        generation=user.generation,
        expires_at=expires_at,
    )
