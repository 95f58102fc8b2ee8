"""runs: the model-version foreign keys of pipeline runs and step runs.

Like the ones 0004 adds, 0003 declared them with `use_alter`, which creates
them inline on SQLite but not at all on PostgreSQL and MariaDB: a deleted
model version must let go of the runs and steps that used it everywhere.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (
    # (name, table, column, referred table)
    ("fk_pipeline_runs_model_version_id_model_versions", "pipeline_runs", "model_version_id", "model_versions"),
    ("fk_step_runs_model_version_id_model_versions", "step_runs", "model_version_id", "model_versions"),
)


def _missing() -> list[tuple[str, str, str, str]]:
    inspector = sa.inspect(op.get_bind())
    return [
        fk for fk in FOREIGN_KEYS
        if not any(
            existing["constrained_columns"] == [fk[2]] and existing["referred_table"] == fk[3]
            for existing in inspector.get_foreign_keys(fk[1])
        )
    ]


def upgrade() -> None:
    for name, table, column, referred in _missing():
        op.create_foreign_key(name, table, referred, [column], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    # 0003 leaves them out on these backends; SQLite keeps its inline ones
    if op.get_bind().dialect.name != "sqlite":
        for name, table, _, _ in FOREIGN_KEYS:
            op.drop_constraint(name, table, type_="foreignkey")
