"""Published figures (fixed periods, decided once) and scopes of read tokens and dashboard users.

Revision ID: 0002_publication
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_publication"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "published_months",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("published_at", TZ, nullable=False),
        sa.Column("k", sa.Integer, nullable=False),
    )
    op.create_table(
        "published_cells",
        sa.Column("level", sa.String(12), primary_key=True),
        sa.Column("scope", sa.String(20), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("metric", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(130), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("partial", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_published_cells_period_level", "published_cells", ["period", "level", "metric"])
    op.create_table(
        "forced_cells",
        sa.Column("family", sa.String(40), primary_key=True),
        sa.Column("level", sa.String(12), primary_key=True),
        sa.Column("scope", sa.String(20), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(130), primary_key=True),
    )
    for table in ("read_tokens", "users"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("scope_level", sa.String(12), nullable=False, server_default="national"))
            batch.add_column(sa.Column("scope_value", sa.String(20), nullable=False, server_default=""))


def downgrade() -> None:
    for table in ("read_tokens", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("scope_value")
            batch.drop_column("scope_level")
    op.drop_table("forced_cells")
    op.drop_index("ix_published_cells_period_level", "published_cells")
    op.drop_table("published_cells")
    op.drop_table("published_months")
