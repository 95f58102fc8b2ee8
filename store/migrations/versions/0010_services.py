"""services: model deployers' records of the model servers they run

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("service_type", sa.JSON(), nullable=False),
        sa.Column("type", sa.String(length=255), nullable=False),
        sa.Column("flavor", sa.String(length=255), nullable=False),
        sa.Column("service_source", sa.Text(), nullable=True),
        sa.Column("admin_state", sa.String(length=50), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("config_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.JSON(), nullable=True),
        sa.Column("endpoint", sa.JSON(), nullable=True),
        sa.Column("prediction_url", sa.Text(), nullable=True),
        sa.Column("health_check_url", sa.Text(), nullable=True),
        sa.Column("pipeline_name", sa.String(length=255), nullable=True),
        sa.Column("pipeline_step_name", sa.String(length=255), nullable=True),
        sa.Column("model_version_id", sa.Uuid(), nullable=True),
        sa.Column("pipeline_run_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("updated", Timestamp, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"],
            name=op.f("fk_services_model_version_id_model_versions"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"], ["pipeline_runs.id"],
            name=op.f("fk_services_pipeline_run_id_pipeline_runs"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_services_user_id_users"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_services_workspace_id_workspaces"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("config_digest", name=op.f("uq_services_config_digest")),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        for column in ("created", "updated", "name", "type", "flavor", "state", "pipeline_name",
                       "model_version_id", "pipeline_run_id", "user_id", "workspace_id"):
            batch_op.create_index(batch_op.f(f"ix_services_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("services")
