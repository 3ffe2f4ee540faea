"""One Alembic history: it upgrades PostgreSQL and SQLite from empty to exactly the models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from laborwatch.migrate import alembic_config, upgrade
from services.grading.domain import name_key


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


def test_an_open_incident_of_v1_with_a_code_is_found_by_its_name_after_the_upgrade(
    tmp_path: Path,
) -> None:
    """A report without a code joins an incident opened before the upgrade, as it would join
    one opened after it (issue: "One dispute, two incidents")."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'v1.db'}"
    command.upgrade(alembic_config(url), "0005")
    coded = "changchun|code:91350100M000100Y43|wage_arrears"
    with sqlite3.connect(tmp_path / "v1.db") as db:
        for id_, key, status in (("a", coded, "open"), ("b", coded, "closed")):
            db.execute(
                "INSERT INTO grading_incidents (id, jurisdiction, policy, kind, correlation_key,"
                " status, enterprise_name, credit_code, category, region, regions,"
                " workers_involved, amount_yuan, terminations, collective_action,"
                " extreme_individual, potential_major_impact, sources, level_rank, reasons,"
                " provisional, assessed, member_ids, opened_at, last_report_at, updated_at,"
                " drill) VALUES (?, 'changchun', 'changchun-2020', 'single', ?, ?,"
                " '长春（宏达）建筑劳务有限公司', '91350100M000100Y43', 'wage_arrears',"
                " 'chaoyang', '[]', 35, 0, 0, 'none', 0, 0, '[]', 0, '[]', 0, 0, '[]',"
                " '2026-11-20', '2026-11-20', '2026-11-20', 0)",
                (id_, key if status == "open" else key + "|old", status),
            )
    upgrade(url)
    with sqlite3.connect(tmp_path / "v1.db") as db:
        found = dict(db.execute("SELECT id, correlation_key FROM grading_incidents").fetchall())
        codes = dict(db.execute("SELECT id, code_key FROM grading_incidents").fetchall())
    # The key grading looks a report without a code up by.
    assert found["a"] == name_key("changchun", "wage_arrears", "长春(宏达)建筑劳务有限责任公司")
    assert codes["a"] == coded
    assert found["b"] is None  # a closed incident gathers nothing: it needs no name key
