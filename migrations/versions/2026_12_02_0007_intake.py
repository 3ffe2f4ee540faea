"""intake: a report keeps what grading said of its incident, and when its personal data went

A reporter sees its report's level and incident status; a township's responder reads the
reports of incidents its body was sent; a responder of the routed body may call the caller
back; personal data is erased a retention period after the incident closed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intake_reports") as batch:
        batch.add_column(sa.Column("level", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("level_label", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("incident_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("incident_routed_to", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("incident_bodies", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("incident_closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("personal_data_erased_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_intake_reports_incident_closed_at", ["incident_closed_at"])


def downgrade() -> None:
    with op.batch_alter_table("intake_reports") as batch:
        batch.drop_index("ix_intake_reports_incident_closed_at")
        for column in (
            "personal_data_erased_at",
            "incident_closed_at",
            "incident_bodies",
            "incident_routed_to",
            "incident_status",
            "level_label",
            "level",
        ):
            batch.drop_column(column)
