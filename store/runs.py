"""Pipeline runs and step runs: tables.

A run's status follows its steps; steps link the artifact versions they read
(`step_run_inputs`) and wrote (`step_run_outputs`), and their parents.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, Entity, Scoped

step_run_parents = Table(
    "step_run_parents",
    Base.metadata,
    Column("parent_id", ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("child_id", ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class PipelineRun(Entity, Scoped, Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (
        UniqueConstraint("deployment_id", "orchestrator_run_id"),
        Index("ix_pipeline_runs_workspace_created", "workspace_id", "created"),
        Index("ix_pipeline_runs_pipeline_created", "pipeline_id", "created"),
    )

    name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    orchestrator_run_id: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    end_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    client_environment: Mapped[dict] = mapped_column(default=dict)
    orchestrator_environment: Mapped[dict] = mapped_column(default=dict)
    deployment_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True
    )
    model_version_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )
    trigger_execution_id: Mapped[Optional[uuid.UUID]] = mapped_column(nullable=True)


class StepRun(Entity, Scoped, Base):
    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("pipeline_run_id", "name"),
        Index("ix_step_runs_cache", "cache_key", "status", "created"),
    )

    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), index=True)
    start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    end_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    cache_key: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    code_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    docstring: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    source_code: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    pipeline_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    deployment_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    original_step_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("step_runs.id", ondelete="SET NULL"), nullable=True
    )
    model_version_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL", use_alter=True), nullable=True
    )


class StepRunInput(Base):
    __tablename__ = "step_run_inputs"

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    # ZenML's StepRunInputArtifactType: step_output, manual, external, lazy_loaded
    type: Mapped[str] = mapped_column(String(32), default="step_output")


class StepRunOutput(Base):
    __tablename__ = "step_run_outputs"

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("step_runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # ZenML's StepRunOutputArtifactType: default, manual
    type: Mapped[str] = mapped_column(String(32), default="default")


class Logs(Entity, Base):
    __tablename__ = "logs"

    uri: Mapped[str] = mapped_column(Text)
    artifact_store_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True
    )
    step_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("step_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    pipeline_run_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), nullable=True, index=True
    )
