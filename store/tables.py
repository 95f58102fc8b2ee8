"""The tables of the foundation: server settings, workspaces, users, workers.

Later aggregates add their own modules; Alembic sees every table through
`Base.metadata` once `store.models` imports them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, utcnow


class ServerSettings(Base):
    """The one row of server-wide settings; its id is the server id."""

    __tablename__ = "server_settings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    server_name: Mapped[str] = mapped_column(String(255), default="default")
    logo_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(default=False)
    enable_analytics: Mapped[bool] = mapped_column(default=False)
    # False, not unset: the dashboard's notification form needs a value, and
    # Zenyard's default sends nothing to outside hosts.
    display_announcements: Mapped[Optional[bool]] = mapped_column(nullable=True, default=False)
    display_updates: Mapped[Optional[bool]] = mapped_column(nullable=True, default=False)
    onboarding_state: Mapped[list] = mapped_column(default=list)
    last_user_activity: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Workspace(Entity, Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class User(Entity, Base):
    """A user or a service account (`is_service_account`)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", "is_service_account"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    email: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    email_opted_in: Mapped[Optional[bool]] = mapped_column(nullable=True)
    password_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    activation_token_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_service_account: Mapped[bool] = mapped_column(default=False)
    external_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(nullable=True)
    user_metadata: Mapped[dict] = mapped_column(default=dict)


class WorkerHeartbeat(Base):
    """The last time each Celery worker answered a heartbeat task."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    tasks_run: Mapped[int] = mapped_column(default=0)
