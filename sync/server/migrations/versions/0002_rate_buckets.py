"""Rate limits in a table of their own, committed apart from each request's transaction.

The columns ``terminals.rate_tokens`` and ``terminals.rate_updated_at`` are left in place, unused,
so that processes of the previous version keep working during a rolling update; a later
migration drops them (with ``users.failed_logins`` and ``users.locked_until``).

Revision ID: 0002_rate_buckets
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rate_buckets"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_s", sa.Float, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
