"""What every console page shares: templates, Chinese formatting, navigation, the signed-in
user and the CSRF check."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from libs.common.runtime import Runtime
from libs.common.stafftokens import signing_key
from services.console import sessions, words
from services.console.client import Api, ApiError, Connector, ServiceUrls
from services.console.sessions import Signed
from services.console.tables import StaffUser

HERE = Path(__file__).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOGIN = "/console/login"


@dataclass(frozen=True)
class NavEntry:
    """A page in the navigation: who sees it. Each area's page module adds its own."""

    key: str
    label: str
    href: str
    roles: frozenset[str]
    order: int
    # A finer rule than the role, where the page needs one (e.g. no region-bound responder).
    may: Callable[[StaffUser], bool] | None = None

    def allows(self, user: StaffUser) -> bool:
        """Say whether the user sees the page."""
        return user.role in self.roles and (self.may is None or self.may(user))


def local_time(value: str | dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as people in the bureau read it: Asia/Shanghai."""
    if value in (None, ""):
        return "—"
    at = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert at is not None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(SHANGHAI).strftime(fmt)


def yuan(value: Any) -> str:
    """An amount in yuan, as 万元 when large ('—' when none was reported)."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return "—"
    if amount == 0:
        return "—"
    if amount >= 10_000:
        return f"{amount / 10_000:,.1f} 万元"
    return f"{amount:,.0f} 元"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.filters["yuan"] = yuan
    env.globals["words"] = words
    return env


@dataclass
class Console:
    """The console's parts: settings, users' store, the API connector, pages' navigation."""

    runtime: Runtime
    connector: Connector
    key: bytes
    env: Environment = field(default_factory=_environment)
    nav: list[NavEntry] = field(default_factory=list)

    @classmethod
    def build(cls, runtime: Runtime) -> Console:
        """The console on the runtime."""
        key = signing_key(runtime.settings.effective_secret_key)
        # The form key is derived apart from the token key: one never serves as the other.
        form_key = hashlib.sha256(b"console-form:" + key).digest()
        return cls(runtime=runtime, connector=Connector(ServiceUrls(), key), key=form_key)

    def __post_init__(self) -> None:
        self.env.filters["body"] = self.body_name
        self.env.filters["jurisdiction"] = self.jurisdiction_name

    def jurisdiction_name(self, jurisdiction: str | None) -> str:
        """A jurisdiction's Chinese name ('全部' for none)."""
        found = self.runtime.registry.get(jurisdiction) if jurisdiction else None
        return found.name if found else (jurisdiction or "全部")

    def body_name(self, body_id: str | None) -> str:
        """A body's Chinese name (its id when unknown)."""
        found = self.runtime.registry.body(body_id) if body_id else None
        return found[1].name if found else (body_id or "—")

    def may_assess(self, user: StaffUser, jurisdiction: str) -> bool:
        """Say whether the user is of one of the policy's assessor bodies (or an admin); the
        API decides, this only spares the others a form they may not send."""
        if user.role == "admin":
            return True
        found = self.runtime.registry.get(jurisdiction)
        assessors = (found.policy.model_extra or {}).get("assessors", []) if found else []
        return user.role == "responder" and user.body_id in assessors

    def region_shapes(self, jurisdiction: str) -> Path | None:
        """The bureau's approved region boundaries (`<jurisdiction>.geojson` beside its YAML
        in JURISDICTIONS_DIR), if it supplied them; else the dashboard draws a tile map."""
        folder = self.runtime.settings.jurisdictions_dir
        found = folder / f"{jurisdiction}.geojson" if folder else None
        return found if found is not None and found.is_file() else None

    def add_page(self, entry: NavEntry) -> None:
        """Put a page in the navigation."""
        self.nav.append(entry)
        self.nav.sort(key=lambda e: e.order)

    def pages_for(self, user: StaffUser) -> list[NavEntry]:
        """The pages a user sees."""
        return [e for e in self.nav if e.allows(user)]

    def api(self, request: Request, signed: Signed) -> Api:
        """The /v1 API as the signed-in user."""
        app: FastAPI = request.app
        return self.connector.for_user(signed.user, app)

    def render(
        self,
        request: Request,
        template_name: str,
        signed: Signed | None,
        /,
        status: int = 200,
        **ctx: Any,
    ) -> HTMLResponse:
        """Render a page (or, for an htmx request asking one, the fragment named `partial`)."""
        template = self.env.get_template(template_name)
        html = template.render(
            request=request,
            signed=signed,
            user=signed.user if signed else None,
            csrf=signed.csrf if signed else ctx.pop("csrf", ""),
            nav=self.pages_for(signed.user) if signed else [],
            drill=self.runtime.settings.drill,
            **ctx,
        )
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    async def signed(self, request: Request, page: str | None = None) -> Signed | Response:
        """The signed-in user allowed on the page; else where to go (login, password, 403)."""
        found = await sessions.load(self.runtime.sessionmaker, request.cookies.get(sessions.COOKIE))
        if found is None:
            return RedirectResponse(f"{LOGIN}?next={request.url.path}", status_code=303)
        if found.user.must_change and request.url.path != "/console/password":
            return RedirectResponse("/console/password", status_code=303)
        if page is not None and not self._allows(page, found.user):
            return self.render(request, "forbidden.html", found, status=403)
        return found

    def _allows(self, page: str, user: StaffUser) -> bool:
        for entry in self.nav:
            if entry.key == page:
                return entry.allows(user)
        return user.role == "admin"

    async def form(
        self, request: Request, page: str | None = None
    ) -> tuple[Signed, dict[str, str]] | Response:
        """A POSTed form of a signed-in user, its CSRF token and origin checked; else 403."""
        signed = await self.signed(request, page)
        if isinstance(signed, Response):
            return signed
        data = {k: str(v) for k, v in (await request.form()).items()}
        if not same_origin(request) or not sessions.same(data.get("csrf"), signed.csrf):
            return self.refused(request, signed)
        return signed, data

    def refused(self, request: Request, signed: Signed | None) -> HTMLResponse:
        """The answer to a cross-site (or stale) form."""
        return self.render(
            request,
            "error.html",
            signed,
            status=403,
            title="请求被拒绝",
            message="表单已失效或来自其他网站，请返回页面后重新提交。",
        )

    def api_error(self, error: ApiError) -> str:
        """An API problem in Chinese, for the top of a form."""
        said = words.PROBLEMS.get(error.status)
        return f"{said}（{error.detail}）" if said else f"操作未完成：{error.detail}"


def field_errors(error: ApiError) -> dict[str, str]:
    """An API 422's errors by the form field they concern, in Chinese."""
    found: dict[str, str] = {}
    for item in error.errors:
        # A list's item (["body", "measures", 0]) is shown by its list's field.
        where = item.get("loc", item.get("location", []))
        loc = [str(p) for p in where if p != "body" and not isinstance(p, int)]
        name = loc[-1] if loc else str(item.get("field", ""))
        label = words.FIELDS.get(name, name)
        said = words.ERRORS.get(str(item.get("type", "")))
        found[name] = f"{label}：{said or item.get('msg') or item.get('message') or '取值无效'}"
    return found


def same_origin(request: Request) -> bool:
    """Say whether a POST comes from this site (Origin or Referer, when the browser sends
    one; a browser that sends neither still needs the CSRF token)."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Page = Callable[..., Any]
