"""console: staff users, their sessions, lockouts and sign-in audit; staff token generations

Revision ID: 0013_console
Revises: 0008
Create Date: 2026-12-02 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_console"
down_revision: str | None = "0012_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=True),
        sa.Column("body_id", sa.String(128), nullable=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("must_change", sa.Boolean(), nullable=False),
        sa.Column("password_expires_at", _AT, nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("disabled_at", _AT, nullable=True),
        sa.UniqueConstraint("name", name="uq_console_users_name"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("last_seen_at", _AT, nullable=False),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_table(
        "console_lockouts",
        sa.Column("user_name", sa.String(100), primary_key=True),
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", _AT, nullable=True),
    )
    op.create_table(
        "console_sign_ins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", _AT, nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
    )
    op.create_index("ix_console_sign_ins_user_at", "console_sign_ins", ["user_name", "at"])
    op.create_table(
        "staff_credentials",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("changed_at", _AT, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "staff_credentials",
        "console_sign_ins",
        "console_lockouts",
        "console_sessions",
        "console_users",
    ):
        op.drop_table(table)
