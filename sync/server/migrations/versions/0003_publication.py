"""Published figures (fixed periods, decided once) and scopes of read tokens and dashboard users.

Revision ID: 0003_publication
Revises: 0002_rate_buckets
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003_publication"
down_revision = "0002_rate_buckets"
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
    _forget_version_1_details()


def _forget_version_1_details() -> None:
    """Batches of version 1 carried exact durations, the median wait and refused domains, and
    tiles without their category: keep of them what version 2 carries (as ingest now does)."""
    conn = op.get_bind()
    cells = sa.table(
        "usage_cells",
        sa.column("level", sa.String),
        sa.column("scope", sa.String),
        sa.column("day", sa.Date),
        sa.column("metric", sa.String),
        sa.column("key", sa.String),
        sa.column("value", sa.Integer),
        sa.column("hidden", sa.Integer),
    )
    conn.execute(cells.delete().where(cells.c.metric == "total_duration_s"))
    merged: dict[tuple[object, ...], int] = {}
    old_rows = conn.execute(
        sa.select(cells.c.level, cells.c.scope, cells.c.day, cells.c.metric, cells.c.key, cells.c.value).where(
            sa.or_(
                sa.and_(cells.c.metric == "blocked", cells.c.key.contains(".")),
                sa.and_(cells.c.metric == "tiles", sa.not_(cells.c.key.contains("/"))),
            )
        )
    ).all()
    for level, scope, day, metric, _key, value in old_rows:
        if metric == "blocked":
            where = (level, scope, day, "blocked", "inconnue")
            merged[where] = merged.get(where, 0) + int(value)
    conn.execute(
        cells.delete().where(
            sa.or_(
                sa.and_(cells.c.metric == "blocked", cells.c.key.contains(".")),
                sa.and_(cells.c.metric == "tiles", sa.not_(cells.c.key.contains("/"))),
            )
        )
    )
    if old_rows:  # tiles without a category: counted per category, as category/inconnue
        for level, scope, day, key, value in conn.execute(
            sa.select(cells.c.level, cells.c.scope, cells.c.day, cells.c.key, cells.c.value).where(
                cells.c.metric == "categories"
            )
        ).all():
            merged[(level, scope, day, "tiles", f"{key}/inconnue")] = int(value)
    for (level, scope, day, metric, key), value in merged.items():
        conn.execute(
            cells.insert().values(level=level, scope=scope, day=day, metric=metric, key=key, value=value, hidden=0)
        )
    batches = sa.table("batches", sa.column("id", sa.Integer), sa.column("version", sa.Integer), sa.column("payload"))
    for batch_id, payload in conn.execute(sa.select(batches.c.id, batches.c.payload).where(batches.c.version == 1)):
        data = json.loads(payload)
        figures = data.get("figures", {})
        figures["total_duration_s"] = 0
        figures.get("mediator", {})["median_wait_s"] = None
        refused = sum(figures.get("blocked", {}).values())
        figures["blocked"] = {"inconnue": refused} if refused else {}
        figures["tiles"] = {f"{c}/inconnue": n for c, n in figures.get("categories", {}).items() if n}
        conn.execute(batches.update().where(batches.c.id == batch_id).values(payload=json.dumps(data, sort_keys=True)))


def downgrade() -> None:
    for table in ("read_tokens", "users"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("scope_value")
            batch.drop_column("scope_level")
    op.drop_table("forced_cells")
    op.drop_index("ix_published_cells_period_level", "published_cells")
    op.drop_table("published_cells")
    op.drop_table("published_months")
