"""Pipelines, builds, deployments, schedules and run templates: tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.base import Base, Entity, Scoped


class Pipeline(Entity, Scoped, Base):
    __tablename__ = "pipelines"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class PipelineBuild(Entity, Scoped, Base):
    __tablename__ = "pipeline_builds"

    images: Mapped[dict] = mapped_column(default=dict)
    is_local: Mapped[bool] = mapped_column(default=False)
    contains_code: Mapped[bool] = mapped_column(default=False)
    zenml_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    python_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    checksum: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)
    stack_checksum: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    stack_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stacks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="SET NULL"), nullable=True, index=True
    )


class Schedule(Entity, Scoped, Base):
    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(255), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    cron_expression: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    end_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    interval_second: Mapped[Optional[float]] = mapped_column(nullable=True)
    catchup: Mapped[bool] = mapped_column(default=False)
    run_once_start_time: Mapped[Optional[datetime]] = mapped_column(nullable=True)
    orchestrator_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stack_components.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True, index=True
    )


class PipelineDeployment(Entity, Scoped, Base):
    __tablename__ = "pipeline_deployments"

    run_name_template: Mapped[str] = mapped_column(Text)
    pipeline_configuration: Mapped[dict] = mapped_column(default=dict)
    step_configurations: Mapped[dict] = mapped_column(default=dict)
    client_environment: Mapped[dict] = mapped_column(default=dict)
    client_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    server_version: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    pipeline_version_hash: Mapped[Optional[str]] = mapped_column(String(255), nullable=True)
    pipeline_spec: Mapped[Optional[dict]] = mapped_column(nullable=True)
    code_path: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # {"commit": ..., "subdirectory": ..., "code_repository": id} as the client sends it
    code_reference: Mapped[Optional[dict]] = mapped_column(nullable=True)
    code_repository_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("code_repositories.id", ondelete="SET NULL"), nullable=True, index=True
    )
    stack_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("stacks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    pipeline_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True, index=True
    )
    build_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_builds.id", ondelete="SET NULL"), nullable=True, index=True
    )
    schedule_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), nullable=True, index=True
    )
    template_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("run_templates.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )


class RunTemplate(Entity, Scoped, Base):
    __tablename__ = "run_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    source_deployment_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("pipeline_deployments.id", ondelete="SET NULL", use_alter=True), nullable=True, index=True
    )
