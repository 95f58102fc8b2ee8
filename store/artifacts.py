"""Artifacts, artifact versions, visualizations and run metadata: tables."""

from __future__ import annotations

import uuid
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, Scoped


class Artifact(Entity, Base):
    """An artifact name; not workspace-scoped in ZenML 0.66.0."""

    __tablename__ = "artifacts"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    has_custom_name: Mapped[bool] = mapped_column(default=False)


class ArtifactVersion(Entity, Scoped, Base):
    __tablename__ = "artifact_versions"
    __table_args__ = (
        UniqueConstraint("artifact_id", "version"),
        Index("ix_artifact_versions_artifact_number", "artifact_id", "version_number"),
    )

    artifact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(255))
    version_number: Mapped[Optional[int]] = mapped_column(nullable=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    uri: Mapped[str] = mapped_column(Text)
    materializer: Mapped[dict] = mapped_column(default=dict)
    data_type: Mapped[dict] = mapped_column(default=dict)
    artifact_store_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True, index=True
    )


class ArtifactVisualization(Entity, Base):
    __tablename__ = "artifact_visualizations"

    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    uri: Mapped[str] = mapped_column(Text)


class RunMetadata(Entity, Scoped, Base):
    __tablename__ = "run_metadata"
    __table_args__ = (Index("ix_run_metadata_resource", "resource_type", "resource_id"),)

    resource_id: Mapped[uuid.UUID] = mapped_column()
    resource_type: Mapped[str] = mapped_column(String(64))
    stack_component_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True
    )
    key: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[Any] = mapped_column(JSON)
    type: Mapped[str] = mapped_column(String(64))
