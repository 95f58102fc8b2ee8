"""Server-wide state: first-start bootstrap, settings, onboarding, activation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.base import utcnow
from store.db import Database
from store.errors import EntityExists, IllegalOperation
from store.passwords import hash_secret
from store.resources import Actor
from store.tables import ServerSettings, User, Workspace
from store.workspaces import DEFAULT_WORKSPACE

# The onboarding steps the dashboard tracks (ZenML's OnboardingStep values).
ONBOARDING_STEPS = (
    "device_verified",
    "pipeline_run",
    "starter_setup_completed",
    "stack_with_remote_orchestrator_created",
    "pipeline_run_with_remote_orchestrator",
    "production_setup_completed",
)


def _settings(session: Session) -> ServerSettings:
    return session.scalars(select(ServerSettings).limit(1)).one()


def bootstrap(db: Database, default_user: str | None, default_password: str, active: bool) -> None:
    """Create what a first start needs: settings, default workspace and user.

    Idempotent, and safe when several processes start at once: a second
    process finds the rows the first one committed.
    """
    try:
        with db.unit_of_work() as session:
            settings = session.scalars(select(ServerSettings).limit(1)).first()
            if settings is None:
                session.add(ServerSettings(active=active))
            if session.scalar(select(Workspace.id).where(Workspace.name == DEFAULT_WORKSPACE)) is None:
                session.add(Workspace(name=DEFAULT_WORKSPACE, description=""))
            if default_user and session.scalar(select(User.id).limit(1)) is None:
                session.add(
                    User(
                        name=default_user,
                        active=True,
                        is_admin=True,
                        password_hash=hash_secret(default_password or ""),
                    )
                )
    except EntityExists:
        pass  # another process bootstrapped first
    _bootstrap_stacks(db)


def _bootstrap_stacks(db: Database) -> None:
    """Built-in flavors, and a default stack in every workspace."""
    from store.stacks import create_default_stack, sync_builtin_flavors

    try:
        with db.unit_of_work() as session:
            sync_builtin_flavors(session)
            for workspace_id in session.scalars(select(Workspace.id)).all():
                create_default_stack(session, workspace_id)
    except EntityExists:
        pass  # another process did it first


def server_id(db: Database):
    with db.reading() as session:
        return _settings(session).id


def present_settings(row: ServerSettings, hydrate: bool) -> dict:
    return {
        "id": row.id,
        "body": {
            "server_id": row.id,
            "server_name": row.server_name,
            "logo_url": row.logo_url,
            "active": row.active,
            "enable_analytics": row.enable_analytics,
            "display_announcements": row.display_announcements,
            "display_updates": row.display_updates,
            "last_user_activity": row.last_user_activity,
            "updated": row.updated,
        },
        "metadata": {} if hydrate else None,
        "resources": {} if hydrate else None,
        "permission_denied": False,
    }


def get_settings(db: Database, hydrate: bool = True) -> dict:
    with db.reading() as session:
        return present_settings(_settings(session), hydrate)


_SETTING_FIELDS = (
    "server_name",
    "logo_url",
    "enable_analytics",
    "display_announcements",
    "display_updates",
)


def update_settings(db: Database, data: dict, actor: Actor) -> dict:
    if not actor.is_admin:
        raise IllegalOperation("Only admin users can update the server settings.")
    with db.unit_of_work() as session:
        row = _settings(session)
        for key in _SETTING_FIELDS:
            if data.get(key) is not None:
                setattr(row, key, data[key])
        session.flush()
        return present_settings(row, hydrate=True)


def onboarding_state(db: Database) -> list[str]:
    with db.reading() as session:
        return list(_settings(session).onboarding_state or [])


def record_onboarding_in(session: Session, steps) -> None:
    """Mark onboarding steps done, inside the caller's unit of work."""
    unknown = set(steps) - set(ONBOARDING_STEPS)
    if unknown:
        raise ValueError(sorted(unknown))
    row = _settings(session)
    done = list(row.onboarding_state or [])
    missing = [step for step in steps if step not in done]
    if missing:
        row.onboarding_state = done + missing


def activate_server(db: Database, data: dict) -> dict | None:
    """Activate an inactive server, optionally creating its admin account."""
    with db.unit_of_work() as session:
        row = _settings(session)
        if row.active:
            raise IllegalOperation("The server has already been activated.")
        for key in _SETTING_FIELDS:
            if data.get(key) is not None:
                setattr(row, key, data[key])
        row.active = True
        row.last_user_activity = utcnow()
        username = data.get("admin_username")
        if not username:
            return None
        from store.users import USERS

        user = User(
            name=username,
            active=True,
            is_admin=True,
            password_hash=hash_secret(data.get("admin_password") or ""),
        )
        USERS.check_unique(session, user, "create")
        session.add(user)
        session.flush()
        return USERS.present(user, hydrate=True)


def server_facts(db: Database) -> dict:
    """What `/info` reports that lives in the database."""
    with db.reading() as session:
        row = _settings(session)
        return {
            "id": row.id,
            "active": row.active,
            "last_user_activity": row.last_user_activity,
            "server_name": row.server_name,
        }
