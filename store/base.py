"""Declarative base and the columns every entity shares."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from typing import Optional

from sqlalchemy import JSON, DateTime, ForeignKey, MetaData, Uuid
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Microseconds on MySQL/MariaDB too, so that sorting by time is stable.
Timestamp = DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql")


def utcnow() -> datetime:
    """Naive UTC, as ZenML stores and sends timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict: JSON, list: JSON, uuid.UUID: Uuid, datetime: Timestamp}


class Entity:
    """Columns of every ZenML entity: a UUID id and two timestamps."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class Owned:
    """Rows that a user created; the user may be gone (server-owned rows)."""

    @declared_attr
    def user_id(cls) -> Mapped[Optional[uuid.UUID]]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)

    @declared_attr
    def user(cls) -> Mapped[Optional["User"]]:  # noqa: F821
        return relationship("User", lazy="joined", innerjoin=False)


class Scoped(Owned):
    """Rows that belong to a workspace (and go with it)."""

    @declared_attr
    def workspace_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)

    @declared_attr
    def workspace(cls) -> Mapped["Workspace"]:  # noqa: F821
        return relationship("Workspace", lazy="joined", innerjoin=True)
