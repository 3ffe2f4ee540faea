"""hardening: free text of reports sealed at rest; each incident's timeline anchored

`summary`, `demands` and `location` of intake's reports (the hotline's `content` is kept as
`summary`) are encrypted like the reporter, existing rows included. Each incident keeps the
hash of its timeline's newest entry and the number of entries, written with them, so that a
deleted newest entry shows.

Revision ID: 0010_hardening
Revises: 0008
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from libs.common.privacy import Cipher, open_text
from libs.common.settings import Settings

revision: str = "0010_hardening"
down_revision: str | None = "0009_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXTS = ("summary", "demands", "location")
_ANCHOR = (
    "UPDATE grading_incidents SET timeline_head = (SELECT t.hash FROM grading_timeline t"
    " WHERE t.incident_id = grading_incidents.id ORDER BY t.id DESC LIMIT 1), timeline_entries ="
    " (SELECT count(*) FROM grading_timeline t WHERE t.incident_id = grading_incidents.id)"
)


def upgrade() -> None:
    with op.batch_alter_table("grading_incidents") as batch:
        batch.add_column(sa.Column("timeline_head", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("timeline_entries", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(_ANCHOR)
    _rewrite_texts(seal=True)


def downgrade() -> None:
    _rewrite_texts(seal=False)
    with op.batch_alter_table("grading_incidents") as batch:
        batch.drop_column("timeline_entries")
        batch.drop_column("timeline_head")


def _rewrite_texts(*, seal: bool) -> None:
    """Seal (or open) the free text of every report; the key is read only if there is any."""
    bind = op.get_bind()
    reports = sa.table("intake_reports", sa.column("id"), *(sa.column(n) for n in _TEXTS))
    rows = bind.execute(
        sa.select(reports).where(sa.or_(*(reports.c[n].isnot(None) for n in _TEXTS)))
    ).all()
    if not rows:
        return
    cipher = _cipher(bind.engine.url.render_as_string(hide_password=False))
    for row in rows:
        values = {}
        for name in _TEXTS:
            text, context = getattr(row, name), f"intake_reports.{name}"
            if text is None or (seal and text.startswith("v1:")):
                continue  # nothing, or sealed already
            values[name] = (
                cipher.encrypt(text, context=context)
                if seal
                else open_text(cipher, text, context=context)
            )
        if values:
            bind.execute(sa.update(reports).where(reports.c.id == row.id).values(**values))


def _cipher(url: str) -> Cipher:
    """The cipher of the deployment's SECRET_KEY (or the embedded default's own key)."""
    return Cipher(Settings(database_url=url).effective_secret_key)
