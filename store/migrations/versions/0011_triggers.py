"""event sources, actions, triggers and trigger executions

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _entity(table: str) -> list:
    """id, timestamps, owner and workspace, as every scoped entity has them."""
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("updated", Timestamp, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _indexes(table: str, columns: tuple) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "event_sources",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("flavor", sa.String(length=255), nullable=False),
        sa.Column("plugin_subtype", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_entity("event_sources"),
    )
    _indexes("event_sources", ("name", "created", "updated", "user_id", "workspace_id"))

    op.create_table(
        "actions",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("flavor", sa.String(length=255), nullable=False),
        sa.Column("plugin_subtype", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("service_account_id", sa.Uuid(), nullable=False),
        sa.Column("auth_window", sa.Integer(), nullable=False),
        *_entity("actions"),
        sa.ForeignKeyConstraint(
            ["service_account_id"], ["users.id"], name=op.f("fk_actions_service_account_id_users"), ondelete="CASCADE",
        ),
    )
    _indexes("actions", ("name", "service_account_id", "created", "updated", "user_id", "workspace_id"))

    op.create_table(
        "triggers",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("event_source_id", sa.Uuid(), nullable=True),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("event_filter", sa.JSON(), nullable=True),
        sa.Column("schedule", sa.JSON(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_entity("triggers"),
        sa.ForeignKeyConstraint(
            ["event_source_id"], ["event_sources.id"], name=op.f("fk_triggers_event_source_id_event_sources"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_triggers_action_id_actions"), ondelete="CASCADE",
        ),
    )
    _indexes("triggers", ("name", "event_source_id", "action_id", "is_active", "created", "updated",
                          "user_id", "workspace_id"))

    op.create_table(
        "trigger_executions",
        sa.Column("trigger_id", sa.Uuid(), nullable=False),
        sa.Column("event_metadata", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("updated", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["trigger_id"], ["triggers.id"], name=op.f("fk_trigger_executions_trigger_id_triggers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_executions")),
    )
    _indexes("trigger_executions", ("trigger_id", "created", "updated"))


def downgrade() -> None:
    op.drop_table("trigger_executions")
    op.drop_table("triggers")
    op.drop_table("actions")
    op.drop_table("event_sources")
