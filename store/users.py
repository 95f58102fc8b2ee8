"""Users (and, with `is_service_account`, service accounts): the resource
and the use cases of login and account management."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from store import records
from store.base import utcnow
from store.crud import find_row
from store.db import Database
from store.errors import IllegalOperation, NotAuthorized
from store.filtering import Kind
from store.passwords import hash_secret, new_token, verify_secret
from store.resources import Actor, Resource
from store.tables import ServerSettings, User


class UserResource(Resource):
    noun = "user"
    table = User
    unique = ("name", "is_service_account")
    extra_filters = {
        "full_name": Kind.STRING,
        "email": Kind.STRING,
        "active": Kind.BOOL,
        "email_opted_in": Kind.BOOL,
        "external_user_id": Kind.UUID,
    }

    def base_query(self):
        return select(User).where(User.is_service_account.is_(False))

    def body(self, row: User) -> dict:
        return {
            "active": row.active,
            "activation_token": None,
            "full_name": row.full_name,
            "email_opted_in": row.email_opted_in,
            "is_service_account": row.is_service_account,
            "is_admin": row.is_admin,
        }

    def metadata(self, row: User) -> dict:
        return {
            "email": row.email,
            "external_user_id": row.external_user_id,
            "user_metadata": row.user_metadata or {},
        }

    def visible(self, actor: Actor):
        # Without RBAC, ZenML shows a non-admin only their own account.
        return None if actor.is_admin else User.id == actor.id

    def authorize(self, action: str, actor: Actor, row: User | None) -> None:
        if actor.is_admin or (row is not None and row.id == actor.id and action in ("read", "update")):
            return
        raise IllegalOperation(
            f"Only admin users can {action} other user accounts."
            if row is not None
            else f"Only admin users can {action} user accounts."
        )

    def build(self, session: Session, data: dict, actor: Actor) -> User:
        password = data.pop("password", None)
        data.pop("activation_token", None)
        user = User(**data, is_service_account=False)
        if password is None:
            # No password: the account waits for activation with a token
            # that only this answer carries.
            user.active = False
            token = new_token()
            user.activation_token_hash = hash_secret(token)
            user._new_activation_token = token
        else:
            user.active = True
            user.password_hash = hash_secret(password)
        return user

    def present(self, row: User, hydrate: bool) -> dict:
        answer = super().present(row, hydrate)
        token = getattr(row, "_new_activation_token", None)
        if token:
            answer["body"]["activation_token"] = token
        return answer

    def before_delete(self, session: Session, row: User, actor: Actor) -> None:
        if row.id == actor.id:
            raise IllegalOperation(
                "You cannot delete the user account currently used to "
                "authenticate to the ZenML server. If you wish to delete this "
                "account, please authenticate with another account or contact "
                "your ZenML administrator."
            )


USERS = UserResource()

# Fields a caller may change through the plain update routes; the rest are
# checked one by one below, as ZenML does.
_SAFE_FIELDS = ("name", "full_name", "user_metadata")


def update_user(
    db: Database, name_or_id: Any, data: dict, actor: Actor, *, myself: bool = False
) -> dict:
    """Update a user account (`PUT /users/{id}` and `PUT /current-user`)."""
    with db.unit_of_work() as session:
        row = session.get(User, actor.id) if myself else find_row(session, USERS, name_or_id)
        own = row.id == actor.id
        if not own and not actor.is_admin:
            raise IllegalOperation("Only admin users can update other user accounts.")
        changes = {k: data[k] for k in _SAFE_FIELDS if data.get(k) is not None}

        if data.get("password") is not None:
            if not own:
                raise IllegalOperation(
                    "Users cannot change the password of other users. Use the "
                    "account deactivation and activation flow instead."
                )
            if data.get("old_password") is None:
                raise IllegalOperation(
                    "The current password must be supplied when changing the password."
                )
            if not verify_secret(data["old_password"], row.password_hash):
                raise IllegalOperation("The current password is incorrect.")
            changes["password_hash"] = hash_secret(data["password"])

        if not myself:
            for flag in ("is_admin", "active"):
                wanted = data.get(flag)
                if wanted is not None and wanted != getattr(row, flag):
                    if own:
                        label = "admin" if flag == "is_admin" else "active"
                        raise IllegalOperation(
                            f"Cannot change the {label} status of your own user account."
                        )
                    changes[flag] = wanted

        if data.get("email_opted_in") is not None or data.get("email") is not None:
            if not own:
                raise IllegalOperation(
                    "Cannot change the private user account information for "
                    "another user account."
                )
            if data.get("email_opted_in") is not None:
                changes["email_opted_in"] = data["email_opted_in"]
            if data.get("email") is not None:
                changes["email"] = data["email"]

        for key, value in changes.items():
            setattr(row, key, value)
        USERS.check_unique(session, row, "update")
        session.flush()
        return USERS.present(row, hydrate=True)


def deactivate_user(db: Database, name_or_id: Any, actor: Actor) -> dict:
    with db.unit_of_work() as session:
        row = find_row(session, USERS, name_or_id)
        if row.id == actor.id:
            raise IllegalOperation("Cannot deactivate yourself.")
        USERS.authorize("update", actor, row)
        token = new_token()
        row.active = False
        row.activation_token_hash = hash_secret(token)
        row._new_activation_token = token
        session.flush()
        return USERS.present(row, hydrate=True)


def activate_user(db: Database, name_or_id: Any, data: dict) -> dict:
    """Activate an account with its activation token (no login needed)."""
    with db.unit_of_work() as session:
        row = find_row(session, USERS, name_or_id)
        if row.active or not verify_secret(data.get("activation_token"), row.activation_token_hash):
            raise NotAuthorized("Authentication error: invalid activation token")
        row.active = True
        row.activation_token_hash = None
        if data.get("password") is not None:
            row.password_hash = hash_secret(data["password"])
        for key in ("full_name", "email", "email_opted_in", "user_metadata"):
            if data.get(key) is not None:
                setattr(row, key, data[key])
        if data.get("name") is not None:
            row.name = data["name"]
            USERS.check_unique(session, row, "update")
        session.flush()
        return USERS.present(row, hydrate=True)


def email_opt_in(db: Database, name_or_id: Any, data: dict, actor: Actor) -> dict:
    with db.unit_of_work() as session:
        row = find_row(session, USERS, name_or_id)
        if row.id != actor.id:
            raise NotAuthorized("Users can not opt in on behalf of another user.")
        row.email = data.get("email")
        row.email_opted_in = data.get("email_opted_in")
        session.flush()
        return USERS.present(row, hydrate=True)


def authenticate_password(db: Database, username: str, password: str) -> Actor:
    """The active user account with these credentials, or NotAuthorized."""
    with db.unit_of_work() as session:
        row = session.scalars(
            select(User).where(User.name == username, User.is_service_account.is_(False))
        ).first()
        if row is None or not row.active or not verify_secret(password, row.password_hash):
            raise NotAuthorized("Authentication error: invalid username or password")
        settings = session.scalars(select(ServerSettings)).first()
        if settings is not None:
            settings.last_user_activity = utcnow()
        return actor_of(row)


def actor_of(row: User) -> Actor:
    return Actor(
        id=row.id, name=row.name, is_admin=row.is_admin, is_service_account=row.is_service_account
    )


_ACTIVE_USER = select(User.__table__).where(User.id == bindparam("id"), User.active.is_(True))


def load_active_user(db: Database, user_id: Any) -> Actor | None:
    """The actor of an active account, or None. Every authenticated request
    asks: one prebuilt Core select on a plain connection (an ORM
    `Session.get` of the user cost several times as much)."""
    if user_id is None:
        return None
    with db.single_read() as connection:
        row = connection.execute(_ACTIVE_USER, {"id": user_id}).mappings().first()
    if row is None:
        return None
    row = records.Record(row)
    # the request's answer nests this user in every row it shows
    records.remember("user", row)
    return Actor(id=row.id, name=row.name, is_admin=row.is_admin, is_service_account=row.is_service_account)


def present_user(db: Database, user_id: Any, hydrate: bool) -> dict:
    with db.reading() as session:
        row = session.get(User, user_id)
        if row is None:
            raise USERS.not_found(user_id)
        return USERS.present(row, hydrate)
