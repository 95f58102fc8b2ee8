"""stacks: flavors, components, stacks, connectors, secrets, code repositories

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:02:32.507860
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('code_repositories',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('source', sa.JSON(), nullable=False),
    sa.Column('logo_url', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_code_repositories_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_code_repositories_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_code_repositories'))
    )
    with op.batch_alter_table('code_repositories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_code_repositories_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_code_repositories_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_code_repositories_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_code_repositories_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_code_repositories_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('flavors',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('integration', sa.String(length=255), nullable=True),
    sa.Column('config_schema', sa.JSON(), nullable=False),
    sa.Column('connector_type', sa.String(length=255), nullable=True),
    sa.Column('connector_resource_type', sa.String(length=255), nullable=True),
    sa.Column('connector_resource_id_attr', sa.String(length=255), nullable=True),
    sa.Column('logo_url', sa.Text(), nullable=True),
    sa.Column('docs_url', sa.Text(), nullable=True),
    sa.Column('sdk_docs_url', sa.Text(), nullable=True),
    sa.Column('is_custom', sa.Boolean(), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_flavors_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_flavors_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flavors'))
    )
    with op.batch_alter_table('flavors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flavors_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_flavors_integration'), ['integration'], unique=False)
        batch_op.create_index(batch_op.f('ix_flavors_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_flavors_type'), ['type'], unique=False)
        batch_op.create_index(batch_op.f('ix_flavors_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_flavors_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flavors_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('secrets',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('values', sa.Text(), nullable=True),
    sa.Column('key_id', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_secrets_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_secrets_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secrets'))
    )
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secrets_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_secrets_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_secrets_scope'), ['scope'], unique=False)
        batch_op.create_index(batch_op.f('ix_secrets_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_secrets_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_secrets_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('stacks',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('stack_spec_path', sa.Text(), nullable=True),
    sa.Column('labels', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stacks_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_stacks_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stacks')),
    sa.UniqueConstraint('workspace_id', 'name', name=op.f('uq_stacks_workspace_id_name'))
    )
    with op.batch_alter_table('stacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stacks_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_stacks_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_stacks_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_stacks_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stacks_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('service_connectors',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('connector_type', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('auth_method', sa.String(length=255), nullable=False),
    sa.Column('resource_types', sa.JSON(), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=True),
    sa.Column('supports_instances', sa.Boolean(), nullable=False),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('secret_id', sa.Uuid(), nullable=True),
    sa.Column('expires_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=True),
    sa.Column('expires_skew_tolerance', sa.Integer(), nullable=True),
    sa.Column('expiration_seconds', sa.Integer(), nullable=True),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['secret_id'], ['secrets.id'], name=op.f('fk_service_connectors_secret_id_secrets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_service_connectors_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_service_connectors_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_connectors'))
    )
    with op.batch_alter_table('service_connectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_connectors_connector_type'), ['connector_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_connectors_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_connectors_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_connectors_secret_id'), ['secret_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_connectors_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_connectors_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_connectors_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('stack_components',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('flavor', sa.String(length=255), nullable=False),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=True),
    sa.Column('component_spec_path', sa.Text(), nullable=True),
    sa.Column('connector_id', sa.Uuid(), nullable=True),
    sa.Column('connector_resource_id', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('updated', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'), nullable=False),
    sa.Column('workspace_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['connector_id'], ['service_connectors.id'], name=op.f('fk_stack_components_connector_id_service_connectors'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stack_components_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_stack_components_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stack_components')),
    sa.UniqueConstraint('workspace_id', 'type', 'name', name=op.f('uq_stack_components_workspace_id_type_name'))
    )
    with op.batch_alter_table('stack_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stack_components_connector_id'), ['connector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_created'), ['created'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_flavor'), ['flavor'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_type'), ['type'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_updated'), ['updated'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stack_components_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('stack_composition',
    sa.Column('stack_id', sa.Uuid(), nullable=False),
    sa.Column('component_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['stack_components.id'], name=op.f('fk_stack_composition_component_id_stack_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stack_id'], ['stacks.id'], name=op.f('fk_stack_composition_stack_id_stacks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('stack_id', 'component_id', name=op.f('pk_stack_composition'))
    )
    with op.batch_alter_table('stack_composition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stack_composition_component_id'), ['component_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('stack_composition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stack_composition_component_id'))

    op.drop_table('stack_composition')
    with op.batch_alter_table('stack_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stack_components_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_stack_components_user_id'))
        batch_op.drop_index(batch_op.f('ix_stack_components_updated'))
        batch_op.drop_index(batch_op.f('ix_stack_components_type'))
        batch_op.drop_index(batch_op.f('ix_stack_components_name'))
        batch_op.drop_index(batch_op.f('ix_stack_components_flavor'))
        batch_op.drop_index(batch_op.f('ix_stack_components_created'))
        batch_op.drop_index(batch_op.f('ix_stack_components_connector_id'))

    op.drop_table('stack_components')
    with op.batch_alter_table('service_connectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_connectors_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_service_connectors_user_id'))
        batch_op.drop_index(batch_op.f('ix_service_connectors_updated'))
        batch_op.drop_index(batch_op.f('ix_service_connectors_secret_id'))
        batch_op.drop_index(batch_op.f('ix_service_connectors_name'))
        batch_op.drop_index(batch_op.f('ix_service_connectors_created'))
        batch_op.drop_index(batch_op.f('ix_service_connectors_connector_type'))

    op.drop_table('service_connectors')
    with op.batch_alter_table('stacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stacks_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_stacks_user_id'))
        batch_op.drop_index(batch_op.f('ix_stacks_updated'))
        batch_op.drop_index(batch_op.f('ix_stacks_name'))
        batch_op.drop_index(batch_op.f('ix_stacks_created'))

    op.drop_table('stacks')
    with op.batch_alter_table('secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secrets_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_secrets_user_id'))
        batch_op.drop_index(batch_op.f('ix_secrets_updated'))
        batch_op.drop_index(batch_op.f('ix_secrets_scope'))
        batch_op.drop_index(batch_op.f('ix_secrets_name'))
        batch_op.drop_index(batch_op.f('ix_secrets_created'))

    op.drop_table('secrets')
    with op.batch_alter_table('flavors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flavors_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_flavors_user_id'))
        batch_op.drop_index(batch_op.f('ix_flavors_updated'))
        batch_op.drop_index(batch_op.f('ix_flavors_type'))
        batch_op.drop_index(batch_op.f('ix_flavors_name'))
        batch_op.drop_index(batch_op.f('ix_flavors_integration'))
        batch_op.drop_index(batch_op.f('ix_flavors_created'))

    op.drop_table('flavors')
    with op.batch_alter_table('code_repositories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_code_repositories_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_code_repositories_user_id'))
        batch_op.drop_index(batch_op.f('ix_code_repositories_updated'))
        batch_op.drop_index(batch_op.f('ix_code_repositories_name'))
        batch_op.drop_index(batch_op.f('ix_code_repositories_created'))

    op.drop_table('code_repositories')
