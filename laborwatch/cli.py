"""The `laborwatch` command: run, serve, migrate, keys, users."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable
from typing import Any

import click
import uvicorn
from pydantic import ValidationError

from laborwatch import apps
from laborwatch.migrate import upgrade
from libs.common.auth import KeyError_, Role, create_key, has_admin, list_keys, revoke_key
from libs.common.jurisdictions import RegistryError
from libs.common.logs import configure_logging
from libs.common.mode import ModeMismatch, fix_mode
from libs.common.runtime import Runtime
from libs.common.settings import Settings
from services.console import users as staff
from services.grading.policy import PolicyError
from services.grading.verify import broken_chains, count_incidents
from services.insight.rebuild import rebuild


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {_setting_name(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise click.ClickException("invalid settings:\n" + "\n".join(lines)) from exc


def _setting_name(loc: tuple[int | str, ...]) -> str:
    """The variable a validation error is about (or 'settings' for the whole)."""
    return "LABORWATCH_" + "_".join(str(p) for p in loc).upper() if loc else "settings"


def _runtime(settings: Settings) -> Runtime:
    try:
        return Runtime.from_settings(settings)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """laborwatch: labor-relations risk monitoring and early warning."""


@main.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    settings = _settings()
    upgrade(settings.database_url)
    click.echo("database is up to date")


@main.command()
@click.option(
    "--migrate/--no-migrate",
    "do_migrate",
    default=True,
    show_default=True,
    help="Upgrade the database before serving.",
)
def run(do_migrate: bool) -> None:
    """Serve every service and the console in one process."""
    settings = _settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    if do_migrate:
        upgrade(settings.database_url)
    runtime = _runtime(settings)
    app = _app(lambda: apps.all_in_one(runtime))
    asyncio.run(_before_serving(runtime, first_admin_key=True))
    _serve(app, settings)


@main.command()
@click.argument("service", type=click.Choice(sorted(apps.SERVICES)))
@click.option(
    "--migrate/--no-migrate",
    "do_migrate",
    default=False,
    show_default=True,
    help="Upgrade the database before serving.",
)
def serve(service: str, do_migrate: bool) -> None:
    """Serve one service: its API and its consumers and workers."""
    settings = _settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    if do_migrate:
        upgrade(settings.database_url)
    runtime = _runtime(settings)
    app = _app(lambda: apps.one(runtime, service))
    asyncio.run(_before_serving(runtime, first_admin_key=False))
    _serve(app, settings)


def _app(build: Callable[[], Any]) -> Any:
    """Build the app; a policy that cannot be used stops here, naming its file and line."""
    try:
        return build()
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc


def _serve(app: Any, settings: Settings) -> None:
    # What the process holds once built (modules, routes, models: most of its objects) lives
    # as long as it does. Out of the collector's reach, each full collection walks only what
    # serving makes: a fifth of each pipeline service's CPU a report (docs/benchmarks.md).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=20,
        proxy_headers=True,
        server_header=False,  # no banner naming the server and so its known weaknesses
    )


async def _before_serving(runtime: Runtime, *, first_admin_key: bool) -> None:
    """Refuse to serve a database of the other mode (drill or real), saying why; on the very
    first start of the whole system, make an admin key and print it once."""
    try:
        try:
            await fix_mode(
                runtime.sessionmaker, time_scale=runtime.settings.time_scale, announce=False
            )
        except ModeMismatch as exc:
            raise click.ClickException(f"refusing to start: {exc}") from exc
        if not first_admin_key or await has_admin(runtime.sessionmaker):
            return
        _, key = await create_key(
            runtime.sessionmaker, runtime.registry, name="first admin", role=Role.ADMIN
        )
        click.echo(
            "\n  First start: an admin API key was made. It is shown only this once:\n"
            f"\n    {key}\n\n  Use it as `Authorization: Bearer <key>`; "
            "make others with `laborwatch keys create`.\n",
            err=False,
        )
        sys.stdout.flush()
    finally:
        await runtime.engine.dispose()


@main.group()
def audit() -> None:
    """Check the records that must not change behind the API's back."""


@audit.command("verify")
def audit_verify() -> None:
    """Check every incident's timeline (hash chain and anchor); exit 1 naming each broken one."""
    runtime = _runtime(_settings())

    async def go() -> tuple[int, int]:
        found = 0
        try:
            async for broken in broken_chains(runtime.sessionmaker):
                found += 1
                click.echo(f"incident {broken.incident_id}: {broken.fault}")
            async with runtime.sessionmaker() as session:
                total = await count_incidents(session)
        finally:
            await runtime.engine.dispose()
        return found, total

    found, total = asyncio.run(go())
    if found:
        raise click.ClickException(f"{found} of {total} incident timelines are broken")
    click.echo(f"all {total} incident timelines verify")


@main.group()
def keys() -> None:
    """Make, list and revoke API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--jurisdiction", default=None, help="The jurisdiction the key is scoped to.")
@click.option("--body", "body_id", default=None, help="The body a responder acts for.")
def keys_create(name: str, role: str, jurisdiction: str | None, body_id: str | None) -> None:
    """Make a key; the key alone is the last line of output."""
    runtime = _runtime(_settings())

    async def go() -> str:
        try:
            row, key = await create_key(
                runtime.sessionmaker,
                runtime.registry,
                name=name,
                role=Role(role),
                jurisdiction=jurisdiction,
                body_id=body_id,
            )
        finally:
            await runtime.engine.dispose()
        click.echo(
            f"created key {row.id} ({row.role}"
            f"{', ' + row.jurisdiction if row.jurisdiction else ''}"
            f"{', ' + row.body_id if row.body_id else ''}); it is shown only once:",
            err=True,
        )
        return key

    try:
        click.echo(asyncio.run(go()))
    except KeyError_ as exc:
        raise click.ClickException(str(exc)) from exc


@keys.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    runtime = _runtime(_settings())

    async def go() -> None:
        try:
            for row in await list_keys(runtime.sessionmaker):
                state = "revoked" if row.revoked_at else "active"
                click.echo(
                    f"{row.id}  {row.prefix}…  {row.role:<9} {row.jurisdiction or '-':<10} "
                    f"{row.body_id or '-':<36} {state:<7} {row.name}"
                )
        finally:
            await runtime.engine.dispose()

    asyncio.run(go())


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id."""
    runtime = _runtime(_settings())

    async def go() -> bool:
        try:
            return await revoke_key(runtime.sessionmaker, key_id)
        finally:
            await runtime.engine.dispose()

    if not asyncio.run(go()):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@main.group()
def insight() -> None:
    """Insight's read model."""


@insight.command("rebuild")
@click.option("--idle-seconds", default=3.0, show_default=True, help="End after this long idle.")
def insight_rebuild(idle_seconds: float) -> None:
    """Rebuild insight's read model by replaying every topic from its start (insight stopped)."""
    runtime = _runtime(_settings())

    async def go() -> int:
        await runtime.bus.start()
        try:
            return await rebuild(runtime, idle_seconds=idle_seconds)
        finally:
            await runtime.bus.stop()
            await runtime.engine.dispose()

    click.echo(f"insight rebuilt from {asyncio.run(go())} events")


@main.group()
def users() -> None:
    """Make, list, disable and unlock the console's staff users."""


@users.command("create")
@click.option("--name", required=True, help="The user's sign-in name.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--jurisdiction", default=None, help="The jurisdiction the user is scoped to.")
@click.option("--body", "body_id", default=None, help="The body a responder acts for.")
def users_create(name: str, role: str, jurisdiction: str | None, body_id: str | None) -> None:
    """Make a user; its one-time password (valid 72 h) alone is the last line of output."""
    runtime = _runtime(_settings())

    async def go() -> str:
        try:
            user, password = await staff.create_user(
                runtime.sessionmaker,
                runtime.registry,
                name=name,
                role=Role(role),
                jurisdiction=jurisdiction,
                body_id=body_id,
            )
        finally:
            await runtime.engine.dispose()
        click.echo(
            f"created user {user.name} ({user.role}"
            f"{', ' + user.jurisdiction if user.jurisdiction else ''}"
            f"{', ' + user.body_id if user.body_id else ''}); one-time password, valid 72 h, "
            "to be changed at first sign-in:",
            err=True,
        )
        return password

    try:
        click.echo(asyncio.run(go()))
    except staff.UserError as exc:
        raise click.ClickException(str(exc)) from exc


@users.command("list")
def users_list() -> None:
    """List users (never their passwords)."""
    runtime = _runtime(_settings())

    async def go() -> None:
        try:
            for u in await staff.list_users(runtime.sessionmaker):
                state = "disabled" if u.disabled_at else "new" if u.must_change else "active"
                click.echo(
                    f"{u.name:<20} {u.role:<9} {u.jurisdiction or '-':<10} "
                    f"{u.body_id or '-':<36} {state}"
                )
        finally:
            await runtime.engine.dispose()

    asyncio.run(go())


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable a user: its sessions end and its API tokens are void at once."""
    runtime = _runtime(_settings())

    async def go() -> bool:
        try:
            return await staff.disable_user(runtime.sessionmaker, name)
        finally:
            await runtime.engine.dispose()

    if not asyncio.run(go()):
        raise click.ClickException(f"no active user {name}")
    click.echo(f"disabled {name}")


@users.command("unlock")
@click.argument("name")
def users_unlock(name: str) -> None:
    """Let a user locked out after failed sign-ins try again at once."""
    runtime = _runtime(_settings())

    async def go() -> int:
        try:
            return await staff.unlock_user(runtime.sessionmaker, name)
        finally:
            await runtime.engine.dispose()

    click.echo(f"unlocked {name} at {asyncio.run(go())} address(es)")
