"""The federation server's tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` create them.

Terminal-level figures live in ``batches.payload`` (one row per terminal and day). Dashboards read
``usage_cells``: the same figures summed per centre, per département and nationally, kept up to
date in the transaction that stores each batch, so a page reads a few hundred rows, not years of
batches.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STRUCTURE_TYPES = (
    "france_services",
    "centre_social",
    "ccas",
    "mairie",
    "mediatheque",
    "association",
    "autre",
)


class Base(DeclarativeBase):
    pass


class Centre(Base):
    __tablename__ = "centres"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str] = mapped_column(String(200))
    departement: Mapped[str] = mapped_column(String(3), index=True)
    structure_type: Mapped[str] = mapped_column(String(40))
    siret: Mapped[str | None] = mapped_column(String(14), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    terminals: Mapped[list[Terminal]] = relationship(back_populates="centre")


class Terminal(Base):
    __tablename__ = "terminals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    software_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_batch_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_heartbeat: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON of the last Heartbeat
    clock_skew_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Columns rate_tokens, rate_updated_at (migration 0001) are no longer used: see RateBucket.
    centre: Mapped[Centre] = relationship(back_populates="terminals")


class EnrolmentCode(Base):
    __tablename__ = "enrolment_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReadToken(Base):
    __tablename__ = "read_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What the token may read: "national", or "departement" / "centre" with the code or id.
    scope_level: Mapped[str] = mapped_column(String(12), default="national")
    scope_value: Mapped[str] = mapped_column(String(20), default="")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    # Columns failed_logins, locked_until (migration 0001) are no longer used: logins are
    # throttled per client address (RateBucket "login:<address>").
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    scope_level: Mapped[str] = mapped_column(String(12), default="national")  # as ReadToken's
    scope_value: Mapped[str] = mapped_column(String(20), default="")


class WebSession(Base):
    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("terminal_id", "batch_id", name="uq_batches_terminal_batch"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    batch_id: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date, index=True)
    version: Mapped[int] = mapped_column(Integer)
    payload_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clock_skew_flagged: Mapped[bool] = mapped_column(Boolean, default=False)


class UsageCell(Base):
    """A figure summed over a scope and a day: ``level`` centre / departement / national."""

    __tablename__ = "usage_cells"
    level: Mapped[str] = mapped_column(String(12), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)  # centre id, département code, ""
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(130), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[int] = mapped_column(Integer, default=0)  # answer cells hidden by a terminal: a lower bound


class PublishedMonth(Base):
    """A month whose figures (and those of its weeks) are published: decided once, never changed."""

    __tablename__ = "published_months"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-03" (week-based month)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    k: Mapped[int] = mapped_column(Integer)


class PublishedCell(Base):
    """A published figure: ``hidden`` ones are never shown (their true ``value`` stays here)."""

    __tablename__ = "published_cells"
    __table_args__ = (Index("ix_published_cells_period_level", "period", "level", "metric"),)
    level: Mapped[str] = mapped_column(String(12), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # 2026-W05, 2026-03, 2026-Q1, 2026
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(130), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)  # includes answers a terminal hid


class ForcedCell(Base):
    """A quarter or year figure that a month's suppression needs hidden when that period is published."""

    __tablename__ = "forced_cells"
    family: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(12), primary_key=True)
    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(130), primary_key=True)  # the family's key node


class RateBucket(Base):
    """A rate limit's token bucket (see ``ratelimit.py``); ``updated_s`` in seconds since 1970."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_s: Mapped[float] = mapped_column(Float, index=True)


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
