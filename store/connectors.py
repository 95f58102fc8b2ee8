"""Service connectors: the table. Credentials live in a secret, never here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, Scoped


class ServiceConnector(Entity, Scoped, Base):
    __tablename__ = "service_connectors"

    name: Mapped[str] = mapped_column(String(255), index=True)
    connector_type: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    auth_method: Mapped[str] = mapped_column(String(255))
    resource_types: Mapped[list] = mapped_column(default=list)
    resource_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    supports_instances: Mapped[bool] = mapped_column(default=False)
    configuration: Mapped[dict] = mapped_column(default=dict)
    secret_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("secrets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    expires_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    expires_skew_tolerance: Mapped[Optional[int]] = mapped_column(nullable=True)
    expiration_seconds: Mapped[Optional[int]] = mapped_column(nullable=True)
    labels: Mapped[dict] = mapped_column(default=dict)
