"""workloads: template runs executed by the workers, and their logs

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "workloads",
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        *[sa.Column(f"{state}_at", Timestamp, nullable=True) for state in (
            "queued", "building", "pushing", "starting", "running", "completed", "failed", "cancelled", "heartbeat",
        )],
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column("image_hash", sa.String(length=64), nullable=True),
        sa.Column("container_id", sa.String(length=128), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("log_size", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("updated", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["pipeline_runs.id"], name=op.f("fk_workloads_run_id_pipeline_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_id"], ["run_templates.id"], name=op.f("fk_workloads_template_id_run_templates"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["deployment_id"], ["pipeline_deployments.id"], name=op.f("fk_workloads_deployment_id_pipeline_deployments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_workloads_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workloads")),
        sa.UniqueConstraint("deployment_id", name=op.f("uq_workloads_deployment_id")),
    )
    with op.batch_alter_table("workloads", schema=None) as batch_op:
        for column in ("run_id", "template_id", "state", "heartbeat_at", "created", "updated"):
            batch_op.create_index(batch_op.f(f"ix_workloads_{column}"), [column], unique=False)

    op.create_table(
        "workload_logs",
        sa.Column("workload_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("end_position", sa.Integer(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["workload_id"], ["workloads.id"], name=op.f("fk_workload_logs_workload_id_workloads"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workload_id", "seq", name=op.f("pk_workload_logs")),
    )
    with op.batch_alter_table("workload_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workload_logs_end_position"), ["end_position"], unique=False)


def downgrade() -> None:
    op.drop_table("workload_logs")
    op.drop_table("workloads")
