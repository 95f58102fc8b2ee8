"""Artifacts area: an index for the newest version of each artifact (and an
artifact's versions by date).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.create_index("ix_artifact_versions_artifact_created", ["artifact_id", "created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("artifact_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_artifact_versions_artifact_created")
