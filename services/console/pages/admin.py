"""系统管理 (admin): staff users, API keys, bodies' delivery channels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from libs.common.auth import KeyError_, Role, create_key, list_keys, revoke_key
from services.console import users
from services.console.client import ApiError
from services.console.sessions import Signed
from services.console.web import Console, NavEntry, field_errors

ADMINS = frozenset({"admin"})


def _channels_of(text: str) -> list[dict[str, Any]]:
    """Channels from the form's lines: `type target` (e.g. `email office@example.org`)."""
    found = []
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            found.append({"type": parts[0].strip(), "target": parts[1].strip()})
    return found


def router(console: Console) -> APIRouter:
    """The admin's routes."""
    console.add_page(NavEntry("admin", "系统管理", "/console/admin", ADMINS, 90))
    api_router = APIRouter(include_in_schema=False)
    db = console.runtime.sessionmaker

    async def page(request: Request, signed: Signed, status: int = 200, **extra: Any) -> Response:
        api = console.api(request, signed)
        jurisdictions = (await api.get("/v1/jurisdictions"))["items"]
        body = request.query_params.get("body") or extra.pop("body", None)
        channels = None
        if body:
            channels = (await api.get(f"/v1/bodies/{body}/channels"))["items"]
        values: dict[str, Any] = {"errors": {}, "error": None, "shown": None, "done": None}
        values.update(extra)
        return console.render(
            request,
            "admin.html",
            signed,
            status=status,
            users=await users.list_users(db),
            keys=await list_keys(db),
            jurisdictions=jurisdictions,
            body=body,
            channels=channels,
            roles=[r.value for r in Role],
            **values,
        )

    @api_router.get("/console/admin")
    async def admin(request: Request) -> Response:
        signed = await console.signed(request, "admin")
        if isinstance(signed, Response):
            return signed
        return await page(request, signed)

    @api_router.post("/console/admin/{action}")
    async def act(request: Request, action: str) -> Response:
        got = await console.form(request, "admin")
        if isinstance(got, Response):
            return got
        signed, form = got
        try:
            said = await _do(console, request, signed, action, form)
        except (users.UserError, KeyError_) as error:
            return await page(request, signed, status=422, error=_zh(str(error)), form=form)
        except ApiError as problem:
            return await page(
                request,
                signed,
                status=problem.status,
                error=console.api_error(problem),
                errors=field_errors(problem),
                body=form.get("body"),
                form=form,
            )
        return await page(request, signed, body=form.get("body"), **said)

    return api_router


async def _do(
    console: Console, request: Request, signed: Signed, action: str, form: dict[str, str]
) -> dict[str, Any]:
    db = console.runtime.sessionmaker
    scope = {
        "jurisdiction": form.get("jurisdiction") or None,
        "body_id": form.get("body_id") or None,
    }
    if action == "user":
        user, password = await users.create_user(
            db,
            console.runtime.registry,
            name=form.get("name", ""),
            role=Role(form.get("role", "analyst")),
            **scope,
        )
        return {"shown": ("一次性密码（72 小时内有效，仅显示一次）", user.name, password)}
    if action == "disable":
        await users.disable_user(db, form.get("name", ""))
        return {"done": f"已停用 {form.get('name')}"}
    if action == "unlock":
        count = await users.unlock_user(db, form.get("name", ""))
        return {"done": f"已解锁 {form.get('name')}（{count} 处）"}
    if action == "key":
        row, key = await create_key(
            db,
            console.runtime.registry,
            name=form.get("name", ""),
            role=Role(form.get("role", "reporter")),
            **scope,
        )
        return {"shown": ("API 密钥（仅显示一次）", row.name, key)}
    if action == "revoke":
        await revoke_key(db, form.get("key_id", "-"))
        return {"done": "密钥已吊销"}
    if action == "channels":
        body = form.get("body", "")
        await console.api(request, signed).call(
            "PUT",
            f"/v1/bodies/{body}/channels",
            json={"channels": _channels_of(form.get("channels", ""))},
        )
        return {"done": "送达渠道已保存"}
    raise users.UserError(f"unknown action {action}")


def _zh(message: str) -> str:
    """A store's English message, with the Chinese for the common ones."""
    known = {
        "needs --body": "责任单位须选择所属单位（--body）",
        "needs --jurisdiction": "分析人员须选择辖区",
        "exists": "该用户名已存在",
        "unknown body": "单位不存在",
        "needs a name": "请填写名称",
    }
    for fragment, zh in known.items():
        if fragment in message:
            return f"{zh}（{message}）"
    return message
