"""Models, model versions and their links to artifacts and runs: tables."""

from __future__ import annotations

import uuid
from typing import Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, Scoped


class Model(Entity, Scoped, Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    license: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    audience: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    use_cases: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    limitations: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    trade_offs: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    ethics: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    save_models_to_registry: Mapped[bool] = mapped_column(default=True)


class ModelVersion(Entity, Scoped, Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "number"),
        UniqueConstraint("model_id", "name"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column()
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    stage: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)


class ModelVersionArtifact(Entity, Scoped, Base):
    __tablename__ = "model_version_artifacts"
    __table_args__ = (UniqueConstraint("model_version_id", "artifact_version_id"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    is_model_artifact: Mapped[bool] = mapped_column(default=False)
    is_deployment_artifact: Mapped[bool] = mapped_column(default=False)


class ModelVersionPipelineRun(Entity, Scoped, Base):
    __tablename__ = "model_version_pipeline_runs"
    __table_args__ = (UniqueConstraint("model_version_id", "pipeline_run_id"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    pipeline_run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True
    )
