"""service accounts' API keys and OAuth2 authorized devices

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.String(length=255), nullable=False),
        sa.Column("previous_key_hash", sa.String(length=255), nullable=True),
        sa.Column("retain_period_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_login", Timestamp, nullable=True),
        sa.Column("last_rotated", Timestamp, nullable=True),
        sa.Column("service_account_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("updated", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["service_account_id"], ["users.id"],
            name=op.f("fk_api_keys_service_account_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("service_account_id", "name", name=op.f("uq_api_keys_service_account_id_name")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        for column in ("service_account_id", "created", "updated"):
            batch_op.create_index(batch_op.f(f"ix_api_keys_{column}"), [column], unique=False)

    op.create_table(
        "auth_devices",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("user_code_hash", sa.String(length=255), nullable=False),
        sa.Column("device_code_hash", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failed_auth_attempts", sa.Integer(), nullable=False),
        sa.Column("expires", Timestamp, nullable=True),
        sa.Column("last_login", Timestamp, nullable=True),
        sa.Column("trusted_device", sa.Boolean(), nullable=False),
        sa.Column("os", sa.String(length=255), nullable=True),
        sa.Column("ip_address", sa.String(length=255), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        sa.Column("python_version", sa.String(length=64), nullable=True),
        sa.Column("zenml_version", sa.String(length=64), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("region", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("updated", Timestamp, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_devices_user_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_devices")),
        sa.UniqueConstraint("client_id", name=op.f("uq_auth_devices_client_id")),
    )
    with op.batch_alter_table("auth_devices", schema=None) as batch_op:
        for column in ("user_id", "created", "updated"):
            batch_op.create_index(batch_op.f(f"ix_auth_devices_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("auth_devices")
    op.drop_table("api_keys")
