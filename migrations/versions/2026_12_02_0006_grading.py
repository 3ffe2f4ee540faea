"""grading: a code key beside the name key, figures held at assessment, Chinese reasons, the
bodies an incident was sent to, a cluster's categories, when an incident closed

- `code_key` (open incidents with a credit code, unique while open) and `correlation_key` (the
  normalised name, one open holder, or the cluster's key): a report with a code and one
  without join one incident (CONTRACT.md v1.1, "Correlation").
- `assessed_figures`: a level the leading group set stands until a report brings more.
- `category` and `region` may be null (a cluster's are its members': `categories`, `regions`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from libs.common.enterprise import normalise_enterprise_name

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status = 'open'")
_LISTS = ("categories", "reasons_zh", "bodies")


def upgrade() -> None:
    with op.batch_alter_table("grading_incidents") as batch:
        batch.add_column(sa.Column("code_key", sa.String(length=300), nullable=True))
        for name in _LISTS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("assessed_figures", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.alter_column("category", existing_type=sa.String(length=32), nullable=True)
        batch.alter_column("region", existing_type=sa.String(length=64), nullable=True)
    _fill()
    op.create_index(
        "uq_grading_incidents_open_code",
        "grading_incidents",
        ["code_key"],
        unique=True,
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )


def _fill() -> None:
    """Existing incidents: a coded key moves to `code_key`, and an open coded incident takes
    its name key too where no other open incident holds it (so that a report without a code
    joins it, as a new one would); a single incident's categories are its category; who it
    was sent to, its route."""
    incidents = sa.table(
        "grading_incidents",
        sa.column("id", sa.String()),
        sa.column("jurisdiction", sa.String()),
        sa.column("status", sa.String()),
        sa.column("enterprise_name", sa.String()),
        sa.column("category", sa.String()),
        sa.column("routed_to", sa.String()),
        sa.column("correlation_key", sa.String()),
        sa.column("code_key", sa.String()),
        sa.column("categories", sa.JSON()),
        sa.column("bodies", sa.JSON()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(incidents).order_by(incidents.c.id)).mappings().all()
    held = {r["correlation_key"] for r in rows if r["status"] == "open" and r["correlation_key"]}
    for row in rows:
        key = row["correlation_key"]
        values: dict[str, object] = {
            "categories": [row["category"]] if row["category"] else [],
            "bodies": [row["routed_to"]] if row["routed_to"] else [],
        }
        if key and "|code:" in key:
            values |= {"code_key": key, "correlation_key": _name_key(row, held)}
        bind.execute(incidents.update().where(incidents.c.id == row["id"]).values(**values))
    # A cluster has no one category or region: its members' (categories, regions).
    op.execute("UPDATE grading_incidents SET category = NULL, region = NULL WHERE kind = 'cluster'")


def _name_key(row: sa.RowMapping, held: set[str]) -> str | None:
    """An open incident's name key (as services.grading.domain.name_key makes it), if free."""
    normalised = normalise_enterprise_name(row["enterprise_name"] or "")
    if row["status"] != "open" or not normalised:
        return None
    key = f"{row['jurisdiction']}|name:{normalised}|{row['category']}"
    if key in held:
        return None
    held.add(key)
    return key


def downgrade() -> None:
    op.drop_index(
        "uq_grading_incidents_open_code",
        table_name="grading_incidents",
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )
    op.execute("UPDATE grading_incidents SET correlation_key = code_key WHERE code_key IS NOT NULL")
    op.execute("UPDATE grading_incidents SET category = 'other' WHERE category IS NULL")
    op.execute("UPDATE grading_incidents SET region = '' WHERE region IS NULL")
    with op.batch_alter_table("grading_incidents") as batch:
        batch.alter_column("region", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("category", existing_type=sa.String(length=32), nullable=False)
        for name in ("closed_at", "assessed_figures", *_LISTS, "code_key"):
            batch.drop_column(name)
