"""pipelines: the two foreign keys between deployments and run templates.

0003 declared them with `use_alter` (they form a cycle), which creates them
inline on SQLite but not at all on PostgreSQL and MariaDB. A deleted run
template must let go of the deployments made from it, and a deleted
deployment of the templates made from it, on every backend.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FOREIGN_KEYS = (
    # (name, table, column, referred table)
    ("fk_pipeline_deployments_template_id_run_templates", "pipeline_deployments", "template_id", "run_templates"),
    ("fk_run_templates_source_deployment_id_pipeline_deployments", "run_templates", "source_deployment_id",
     "pipeline_deployments"),
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
