"""grading: a partial index on open incidents, newest first per jurisdiction

The console's dashboard reads every open incident of a jurisdiction (its per-level counts and
the map), and its list filters by `status=open`: among years of closed history, the open
ones are a few hundred rows that this index alone holds.

Revision ID: 0015_grading_open
Revises: 0014_cases
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_grading_open"
down_revision: str | None = "0014_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index(
        "ix_grading_incidents_open",
        "grading_incidents",
        ["jurisdiction", "opened_at", "id"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_grading_incidents_open", table_name="grading_incidents")
