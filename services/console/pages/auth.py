"""Sign in, first-sign-in password change, sign out; `/` and the console's own static files."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from services.console import sessions, users
from services.console.domain import IDLE_LIMIT
from services.console.web import HERE, LOGIN, Console, same_origin

STATIC = HERE / "static"
_OUTCOMES = {
    "wrong": "用户名或密码不正确",
    "locked": "该账号在此地址连续登录失败次数过多，已锁定 15 分钟，请稍后再试或联系管理员解锁",
    "expired": "一次性密码已过期（有效期 72 小时），请联系管理员重新创建账号",
}


def _address(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def _safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path of this site only."""
    if value and value.startswith("/console/") and not value.startswith("//"):
        return value
    return "/console/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_session(response: Response, request: Request, value: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind https; ends with the browser."""
    response.set_cookie(
        sessions.COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/console",
    )


def router(console: Console) -> APIRouter:
    """The sign-in routes, `/` and the static files."""
    api = APIRouter(include_in_schema=False)

    @api.get("/")
    async def root() -> Response:
        return RedirectResponse("/console/", status_code=307)

    @api.get("/console/static/{path:path}")
    async def static(path: str) -> Response:
        target = (STATIC / path).resolve()
        if not target.is_file() or STATIC.resolve() not in target.parents:
            return Response(status_code=404)
        return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})

    _sign_in_routes(api, console)
    _password_routes(api, console)
    return api


def _sign_in_routes(api: APIRouter, console: Console) -> None:
    @api.get(LOGIN)
    async def login_page(request: Request, next: str | None = None) -> Response:
        return _login_form(console, request, next=_safe_next(next))

    @api.post(LOGIN)
    async def login(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        pre = request.cookies.get(sessions.PRE_COOKIE)
        expected = sessions.login_csrf(console.key, pre) if pre else None
        if not same_origin(request) or not sessions.same(form.get("csrf"), expected):
            return console.refused(request, None)
        result = await users.sign_in(
            console.runtime.sessionmaker,
            name=form.get("name", "").strip(),
            password=form.get("password", ""),
            address=_address(request),
        )
        if result.user is None:
            error = _OUTCOMES[result.outcome]
            return _login_form(
                console,
                request,
                next=form.get("next"),
                error=error,
                status=401,
                name=form.get("name", ""),
            )
        value = await sessions.start(console.runtime.sessionmaker, result.user.id)
        go = "/console/password" if result.user.must_change else _safe_next(form.get("next"))
        response = RedirectResponse(go, status_code=303)
        _set_session(response, request, value)
        response.delete_cookie(sessions.PRE_COOKIE, path="/console")
        return response

    @api.post("/console/logout")
    async def logout(request: Request) -> Response:
        got = await console.form(request)
        if isinstance(got, Response):
            return got
        await sessions.end(console.runtime.sessionmaker, request.cookies.get(sessions.COOKIE))
        response = RedirectResponse(LOGIN, status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/console")
        return response


def _login_form(
    console: Console,
    request: Request,
    *,
    next: str | None,
    error: str | None = None,
    status: int = 200,
    name: str = "",
) -> Response:
    pre = request.cookies.get(sessions.PRE_COOKIE) or secrets.token_urlsafe(24)
    response = console.render(
        request,
        "login.html",
        None,
        status=status,
        csrf=sessions.login_csrf(console.key, pre),
        next=_safe_next(next),
        error=error,
        name=name,
    )
    response.set_cookie(
        sessions.PRE_COOKIE,
        pre,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/console",
        max_age=int(IDLE_LIMIT.total_seconds()),
    )
    return response


def _password_routes(api: APIRouter, console: Console) -> None:
    @api.get("/console/password")
    async def password_page(request: Request) -> Response:
        signed = await console.signed(request)
        if isinstance(signed, Response):
            return signed
        return console.render(request, "password.html", signed, errors={})

    @api.post("/console/password")
    async def change(request: Request) -> Response:
        got = await console.form(request)
        if isinstance(got, Response):
            return got
        signed, form = got
        errors: dict[str, str] = {}
        if form.get("new") != form.get("again"):
            errors["again"] = "两次输入的新密码不一致"
        else:
            problem = await users.change_password(
                console.runtime.sessionmaker,
                signed.user.id,
                old=form.get("old", ""),
                new=form.get("new", ""),
            )
            if problem:
                errors["old" if problem == "原密码不正确" else "new"] = problem
        if errors:
            return console.render(request, "password.html", signed, status=422, errors=errors)
        # A new password ends every session of the user (and voids the API tokens); this
        # browser starts a fresh one.
        await sessions.end_all(console.runtime.sessionmaker, signed.user.id)
        value = await sessions.start(console.runtime.sessionmaker, signed.user.id)
        response = RedirectResponse("/console/?changed=1", status_code=303)
        _set_session(response, request, value)
        return response
