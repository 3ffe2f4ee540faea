"""notifier: closed notifications, shown acknowledgements, who reads what, the incident's key

A notification closes without an acknowledgement (`closed_reason`: superseded, lifted,
case_closed, copy); an acknowledgement records how it came in (`ack_via`); a notification
keeps its incident's level rank, regions (a township's responder reads its region's) and the
Kafka key of its enterprise.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifier_notifications") as batch:
        batch.add_column(sa.Column("level_rank", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("closed_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("ack_via", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("regions", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("region_set", sa.String(length=500), nullable=False, server_default=",")
        )
        batch.add_column(
            sa.Column("event_key", sa.String(length=200), nullable=False, server_default="")
        )
    # Copies never needed an acknowledgement: they are closed now, as new ones are.
    op.execute(
        "UPDATE notifier_notifications SET status = 'closed', closed_reason = 'copy', "
        "closed_at = created_at WHERE kind = 'copy' AND status = 'pending'"
    )
    op.execute(
        "UPDATE notifier_notifications SET ack_via = 'api' WHERE acknowledged_at IS NOT NULL"
    )
    op.execute("UPDATE notifier_notifications SET event_key = jurisdiction || ':' || incident_id")


def downgrade() -> None:
    op.execute("UPDATE notifier_notifications SET status = 'pending' WHERE closed_reason = 'copy'")
    with op.batch_alter_table("notifier_notifications") as batch:
        for column in (
            "event_key",
            "region_set",
            "regions",
            "ack_via",
            "closed_at",
            "closed_reason",
            "level_rank",
        ):
            batch.drop_column(column)
