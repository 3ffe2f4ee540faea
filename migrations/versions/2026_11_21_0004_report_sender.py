"""intake: a report's source_ref is unique per sender, not across every sender

Two partner agencies may both send "HR-2026-000123"; before this, the second report was taken
for a retry of the first and silently not stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_reports") as batch:
        batch.add_column(
            sa.Column("sender", sa.String(length=64), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE intake_reports SET sender = CASE WHEN channel = 'webhook' THEN 'hotline' "
        "ELSE COALESCE(submitted_by, '') END"
    )
    with op.batch_alter_table("intake_reports") as batch:
        batch.drop_constraint("uq_intake_reports_source_source_ref", type_="unique")
        batch.create_unique_constraint(
            "uq_intake_reports_source_sender_source_ref", ["source", "sender", "source_ref"]
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_reports") as batch:
        batch.drop_constraint("uq_intake_reports_source_sender_source_ref", type_="unique")
        batch.create_unique_constraint(
            "uq_intake_reports_source_source_ref", ["source", "source_ref"]
        )
        batch.drop_column("sender")
