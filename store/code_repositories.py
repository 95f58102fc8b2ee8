"""Code repositories: table and resource."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, Scoped
from store.resources import Resource


class CodeRepository(Entity, Scoped, Base):
    __tablename__ = "code_repositories"

    name: Mapped[str] = mapped_column(String(255), index=True)
    config: Mapped[dict] = mapped_column(default=dict)
    source: Mapped[dict] = mapped_column(default=dict)
    logo_url: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class CodeRepositoryResource(Resource):
    noun = "code repository"
    plural = "code repositories"
    table = CodeRepository

    def body(self, row: CodeRepository) -> dict:
        return {"source": row.source, "logo_url": row.logo_url}

    def metadata(self, row: CodeRepository) -> dict:
        return {"config": row.config or {}, "description": row.description}


CODE_REPOSITORIES = CodeRepositoryResource()
