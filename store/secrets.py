"""Secrets: the table. Values are stored encrypted (see `store.crypto`)."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity, Scoped


class Secret(Entity, Scoped, Base):
    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(255), index=True)
    scope: Mapped[str] = mapped_column(String(32), default="workspace", index=True)
    # base64 of nonce + AES-GCM ciphertext of the JSON of the values
    values: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # which key encrypted `values` (a fingerprint, never the key)
    key_id: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
