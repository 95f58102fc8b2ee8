"""secrets: the backup table of `secrets_operations/backup` and `restore`.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "secret_backups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("values", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("backed_up", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_backups")),
    )


def downgrade() -> None:
    op.drop_table("secret_backups")
