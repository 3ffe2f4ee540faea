"""The `laborwatch` command as an operator runs it: migrate, keys, and settings errors
(CONTRACT.md, "Running")."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from click.testing import CliRunner

from laborwatch import apps
from laborwatch.cli import main
from libs.common.runtime import Runtime
from tests.conftest import make_settings

BIN = Path(sys.executable).with_name("laborwatch")
KEY = re.compile(r"lw_[A-Za-z0-9_-]{40,}")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def clean_env() -> dict[str, str]:
    """The parent's environment without any LABORWATCH_ setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LABORWATCH_")}


@dataclass
class Cli:
    """The command on its own embedded database, with a clean environment."""

    home: Path
    database_url: str

    @property
    def settings(self) -> dict[str, str]:
        return {
            "LABORWATCH_DATABASE_URL": self.database_url,
            "LABORWATCH_VAR_DIR": str(self.home / "var"),
        }

    async def run(self, *args: str, **env: str) -> Result:
        """Run the installed command in a process of its own, as an operator would."""
        process = await asyncio.create_subprocess_exec(
            str(BIN),
            *args,
            cwd=self.home,
            env={**clean_env(), **self.settings, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def __call__(self, *args: str, **env: str) -> Result:
        """Run the same command in this process (an interpreter start costs a second).

        It runs in a thread, because the command runs its own event loop; one at a time,
        because CliRunner swaps the process's environment and standard streams.
        """
        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LABORWATCH_")}
        environment = {**unset, **self.settings, **env}

        def invoke() -> Result:
            result = CliRunner().invoke(main, list(args), env=environment)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            return Result(result.exit_code, result.stdout, result.stderr)

        return await asyncio.to_thread(invoke)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A fresh embedded database, migrated by `laborwatch migrate` in a process of its own."""
    home = tmp_path_factory.mktemp("cli")
    tool = Cli(home=home, database_url=f"sqlite+aiosqlite:///{home / 'x.db'}")
    done = subprocess.run(
        [str(BIN), "migrate"],
        cwd=home,
        env={**clean_env(), **tool.settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
    assert (home / "x.db").exists()
    return tool


@pytest.fixture
async def intake(cli: Cli) -> AsyncIterator[httpx.AsyncClient]:
    """The intake service on the command's database, in this process."""
    runtime = Runtime.from_settings(make_settings(database_url=cli.database_url))
    app = apps.one(runtime, "intake")
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


async def test_migrate_is_repeatable(cli: Cli) -> None:
    again = await cli("migrate")
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout


async def test_keys_create_prints_the_key_alone_on_the_last_line(
    cli: Cli, intake: httpx.AsyncClient
) -> None:
    made = await cli.run("keys", "create", "--name", "agency-1", "--role", "reporter")
    assert made.returncode == 0, made.stderr
    key = last_line(made.stdout)
    assert key.startswith("lw_")
    assert KEY.fullmatch(key), key
    # The key works, as the role it was made for.
    headers = {"Authorization": f"Bearer {key}"}
    assert (await intake.get("/v1/reports", headers=headers)).status_code == 200
    assert (await intake.get("/v1/jurisdictions", headers=headers)).status_code == 200

    other = await cli("keys", "create", "--name", "agency-2", "--role", "reporter")
    assert last_line(other.stdout) != key


async def test_a_responder_key_needs_a_known_body(cli: Cli, intake: httpx.AsyncClient) -> None:
    before = await cli("keys", "list")
    no_body = await cli("keys", "create", "--name", "r", "--role", "responder")
    unknown = await cli(
        "keys", "create", "--name", "r", "--role", "responder", "--body", "changchun.mayor"
    )
    wrong_jurisdiction = await cli(
        "keys",
        "create",
        "--name",
        "r",
        "--role",
        "responder",
        "--body",
        "changchun.leading_group_office",
        "--jurisdiction",
        "xuanen",
    )
    bad_role = await cli("keys", "create", "--name", "r", "--role", "superuser")
    assert no_body.returncode != 0
    assert "--body" in no_body.stderr
    assert unknown.returncode != 0
    assert "changchun.mayor" in unknown.stderr
    assert wrong_jurisdiction.returncode != 0
    assert "xuanen" in wrong_jurisdiction.stderr
    assert bad_role.returncode != 0
    assert "superuser" in bad_role.stderr
    for failed in (no_body, unknown, wrong_jurisdiction, bad_role):
        assert not KEY.search(failed.stdout + failed.stderr)
    # Nothing was made by the failures.
    assert (await cli("keys", "list")).stdout == before.stdout

    made = await cli(
        "keys",
        "create",
        "--name",
        "office",
        "--role",
        "responder",
        "--body",
        "changchun.leading_group_office",
    )
    assert made.returncode == 0, made.stderr
    key = last_line(made.stdout)
    assert KEY.fullmatch(key)
    listed = await intake.get("/v1/jurisdictions", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200
    # A responder acts in its body's jurisdiction only.
    assert [j["id"] for j in listed.json()["items"]] == ["changchun"]


async def test_an_analyst_key_needs_a_known_jurisdiction(cli: Cli) -> None:
    none = await cli("keys", "create", "--name", "a", "--role", "analyst")
    unknown = await cli(
        "keys", "create", "--name", "a", "--role", "analyst", "--jurisdiction", "atlantis"
    )
    good = await cli(
        "keys", "create", "--name", "a", "--role", "analyst", "--jurisdiction", "xuanen"
    )
    assert none.returncode != 0
    assert "--jurisdiction" in none.stderr
    assert unknown.returncode != 0
    assert "atlantis" in unknown.stderr
    assert good.returncode == 0, good.stderr
    assert KEY.fullmatch(last_line(good.stdout))


async def test_keys_list_shows_ids_never_keys(cli: Cli) -> None:
    made = await cli("keys", "create", "--name", "listed-one", "--role", "admin")
    key = last_line(made.stdout)
    key_id = re.search(r"created key ([0-9a-f-]{36})", made.stderr)
    assert key_id, made.stderr
    listed = await cli("keys", "list")
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if key_id.group(1) in ln)
    assert "listed-one" in line
    assert "admin" in line
    assert "active" in line
    assert key not in listed.stdout + listed.stderr
    assert key[10:] not in listed.stdout  # not even the secret part


async def test_a_revoked_key_is_refused(cli: Cli, intake: httpx.AsyncClient) -> None:
    made = await cli("keys", "create", "--name", "to-revoke", "--role", "admin")
    key = last_line(made.stdout)
    key_id = re.search(r"created key ([0-9a-f-]{36})", made.stderr)
    assert key_id, made.stderr
    headers = {"Authorization": f"Bearer {key}"}
    assert (await intake.get("/v1/jurisdictions", headers=headers)).status_code == 200

    revoked = await cli("keys", "revoke", key_id.group(1))
    assert revoked.returncode == 0, revoked.stderr
    refused = await intake.get("/v1/jurisdictions", headers=headers)
    assert refused.status_code == 401
    line = next(
        ln for ln in (await cli("keys", "list")).stdout.splitlines() if key_id.group(1) in ln
    )
    assert "revoked" in line

    again = await cli("keys", "revoke", key_id.group(1))
    unknown = await cli("keys", "revoke", "00000000-0000-0000-0000-000000000000")
    assert again.returncode != 0
    assert unknown.returncode != 0
    assert "00000000" in unknown.stderr


async def test_settings_errors_name_the_setting(cli: Cli, tmp_path: Path) -> None:
    bad_dir = tmp_path / "jurisdictions"
    bad_dir.mkdir()
    (bad_dir / "broken.yaml").write_text("id: broken\nregions: [\n", encoding="utf-8")
    pg = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    # In processes of their own, as an operator meets them.
    mysql, no_secret = await asyncio.gather(
        cli.run("keys", "list", LABORWATCH_DATABASE_URL="mysql://x"),
        cli.run("keys", "list", LABORWATCH_DATABASE_URL=pg),
    )
    bad_whsec = await cli("keys", "list", LABORWATCH_HOTLINE_WEBHOOK_SECRET="whsec_not base64!")
    bad_scale = await cli("keys", "list", LABORWATCH_TIME_SCALE="0")
    bad_registry = await cli("keys", "list", LABORWATCH_JURISDICTIONS_DIR=str(bad_dir))
    for failed in (mysql, no_secret, bad_whsec, bad_scale, bad_registry):
        assert failed.returncode != 0, failed.stdout
        assert "Traceback" not in failed.stderr, failed.stderr
    assert "LABORWATCH_DATABASE_URL" in mysql.stderr
    assert "SECRET_KEY" in no_secret.stderr
    assert "LABORWATCH_HOTLINE_WEBHOOK_SECRET" in bad_whsec.stderr
    assert "LABORWATCH_TIME_SCALE" in bad_scale.stderr
    assert str(bad_dir / "broken.yaml") in bad_registry.stderr


# ------------------------------------------------------------------- staff users (console)


async def test_users_create_prints_a_one_time_password_on_the_last_line(cli: Cli) -> None:
    made = await cli(
        "users", "create", "--name", "李娜", "--role", "responder",
        "--body", "changchun.leading_group_office",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    password = last_line(made.stdout)
    assert len(password) >= 16 and " " not in password
    assert "valid 72 h" in made.stderr
    listed = await cli("users", "list")
    row = next(line for line in listed.stdout.splitlines() if line.startswith("李娜"))
    assert "responder" in row and "changchun.leading_group_office" in row and row.endswith("new")
    again = await cli("users", "create", "--name", "李娜", "--role", "admin")
    assert again.returncode != 0 and "exists" in again.stderr


async def test_a_user_needs_a_scope_that_fits_its_role(cli: Cli) -> None:
    no_body = await cli("users", "create", "--name", "r1", "--role", "responder")
    assert no_body.returncode != 0 and "needs --body" in no_body.stderr
    no_place = await cli("users", "create", "--name", "a1", "--role", "analyst")
    assert no_place.returncode != 0 and "needs --jurisdiction" in no_place.stderr


async def test_users_disable_and_unlock(cli: Cli) -> None:
    await cli("users", "create", "--name", "赵磊", "--role", "analyst", "--jurisdiction", "xuanen")
    assert "disabled 赵磊" in (await cli("users", "disable", "赵磊")).stdout
    listed = await cli("users", "list")
    assert any(
        line.startswith("赵磊") and line.endswith("disabled") for line in listed.stdout.splitlines()
    )
    again = await cli("users", "disable", "赵磊")
    assert again.returncode != 0 and "no active user" in again.stderr
    assert "unlocked 赵磊 at 0 address(es)" in (await cli("users", "unlock", "赵磊")).stdout
