"""grading: room in each page of grading_incidents for a row's next version (PostgreSQL)

Every notification the notifier sends, acknowledges or closes adds to its incident's timeline,
and so updates the incident's row (the timeline's anchor: its head and length). On a full
page PostgreSQL writes the new version elsewhere and adds it to each of the table's six
indexes; with a fifth of each page left free, the new version stays on its page and no index
is touched (a heap-only update). Existing pages keep their layout until they are rewritten.

Revision ID: 0016_grading_fillfactor
Revises: 0015_grading_open
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_grading_fillfactor"
down_revision: str | None = "0015_grading_open"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE grading_incidents SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE grading_incidents RESET (fillfactor)")
