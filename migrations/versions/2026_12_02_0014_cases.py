"""cases: an incident's disposal (处置) and its steps; grading's incidents learn their case

Revision ID: 0014_cases
Revises: 0008
Create Date: 2026-12-02 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_cases"
down_revision: str | None = "0013_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cases_cases",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=False),
        sa.Column("level", sa.String(32)),
        sa.Column("level_label", sa.String(64)),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("responsible_body", sa.String(128), nullable=False),
        sa.Column("responsible_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("bodies", sa.JSON(), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("dues", sa.JSON(), nullable=False),
        sa.Column("on_time", sa.JSON(), nullable=False),
        sa.Column("content_sealed", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_cases")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_cases_cases_incident_id")),
    )
    op.create_index(
        "ix_cases_cases_jurisdiction_opened", "cases_cases", ["jurisdiction", "opened_at", "id"]
    )
    op.create_index("ix_cases_cases_opened", "cases_cases", ["opened_at", "id"])
    op.create_index("ix_cases_cases_status", "cases_cases", ["status", "opened_at"])
    op.create_table(
        "cases_steps",
        sa.Column("id", _BIG_ID, nullable=False, autoincrement=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(300), nullable=False),
        sa.Column("summary_zh", sa.String(500), nullable=False),
        sa.Column("detail_sealed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases_steps")),
        sa.UniqueConstraint("case_id", "seq", name="uq_cases_steps_case_seq"),
    )
    with op.batch_alter_table("grading_incidents") as batch:
        batch.add_column(sa.Column("case_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grading_incidents") as batch:
        batch.drop_column("case_id")
    op.drop_table("cases_steps")
    op.drop_index("ix_cases_cases_status", table_name="cases_cases")
    op.drop_index("ix_cases_cases_opened", table_name="cases_cases")
    op.drop_index("ix_cases_cases_jurisdiction_opened", table_name="cases_cases")
    op.drop_table("cases_cases")
