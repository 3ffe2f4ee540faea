"""One Alembic history: it upgrades PostgreSQL and SQLite from empty to exactly the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from laborwatch.migrate import alembic_config, upgrade


def test_postgres_is_migrated_to_exactly_the_models(pg_url: str) -> None:
    # pg_url is upgraded from empty by the fixture; nothing must be left to generate.
    command.check(alembic_config(pg_url))


def test_sqlite_upgrades_from_empty_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    command.check(alembic_config(url))
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    command.check(alembic_config(url))
