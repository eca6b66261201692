"""Initial schema: centres, terminals, enrolment, tokens, users, sessions, batches, usage cells.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("commune", sa.String(200), nullable=False),
        sa.Column("departement", sa.String(3), nullable=False, index=True),
        sa.Column("structure_type", sa.String(40), nullable=False),
        sa.Column("siret", sa.String(14)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "terminals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False, unique=True),
        sa.Column("centre_id", sa.Integer, sa.ForeignKey("centres.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("enrolled_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.Column("software_version", sa.String(40)),
        sa.Column("last_heartbeat_at", TZ),
        sa.Column("last_batch_at", TZ),
        sa.Column("last_heartbeat", sa.Text),
        sa.Column("clock_skew_s", sa.Float),
        sa.Column("rate_tokens", sa.Float, nullable=False, server_default="0"),
        sa.Column("rate_updated_at", TZ),
    )
    op.create_table(
        "enrolment_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("terminal_id", sa.Integer, sa.ForeignKey("terminals.id"), nullable=False, index=True),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
    )
    op.create_table(
        "read_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TZ),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("terminal_id", sa.Integer, sa.ForeignKey("terminals.id"), nullable=False),
        sa.Column("batch_id", sa.String(100), nullable=False),
        sa.Column("day", sa.Date, nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("clock_skew_flagged", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("terminal_id", "batch_id", name="uq_batches_terminal_batch"),
    )
    op.create_table(
        "usage_cells",
        sa.Column("level", sa.String(12), primary_key=True),
        sa.Column("scope", sa.String(20), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("metric", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(130), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
        sa.Column("hidden", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "settings",
        "usage_cells",
        "batches",
        "web_sessions",
        "users",
        "read_tokens",
        "enrolment_codes",
        "terminals",
        "centres",
    ):
        op.drop_table(table)
