"""Models, model versions and their links to artifacts and runs.

ZenML's rules kept here: a model's name is unique in its workspace; the
versions of a model are numbered 1, 2, ... (the next is the highest plus
one, and the name defaults to the number); a version's name is unique
within its model; `staging`, `production` and `latest` are held by one
version of a model at a time (promoting another one refuses without
`force`, and archives the holder with it); linking an artifact version or a
run twice answers the existing link. Deleting a model deletes its versions
and their links, tags and run metadata.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Callable, Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, and_, delete, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from store.base import Base, Entity, Scoped, utcnow
from store.crud import find_row
from store.db import Database
from store.errors import BadRequest, EntityExists, IllegalOperation, InvalidInput, NotFound, ZenyardError
from store.filtering import FilterField, Kind, _string_condition, parse_bool
from store.resources import Actor, Resource
from store.tags import attach_tags, tags_for


class Model(Entity, Scoped, Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(255), index=True)
    license: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    audience: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    use_cases: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    limitations: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    trade_offs: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    ethics: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    save_models_to_registry: Mapped[bool] = mapped_column(default=True)


class ModelVersion(Entity, Scoped, Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "number"),
        UniqueConstraint("model_id", "name"),
    )

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column()
    description: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    stage: Mapped[Optional[str]] = mapped_column(String(255), nullable=True, index=True)


class ModelVersionArtifact(Entity, Scoped, Base):
    __tablename__ = "model_version_artifacts"
    __table_args__ = (UniqueConstraint("model_version_id", "artifact_version_id"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    artifact_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artifact_versions.id", ondelete="CASCADE"), index=True
    )
    is_model_artifact: Mapped[bool] = mapped_column(default=False)
    is_deployment_artifact: Mapped[bool] = mapped_column(default=False)


class ModelVersionPipelineRun(Entity, Scoped, Base):
    __tablename__ = "model_version_pipeline_runs"
    __table_args__ = (UniqueConstraint("model_version_id", "pipeline_run_id"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    model_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    pipeline_run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"), index=True
    )


STAGES = ("none", "staging", "production", "archived", "latest")
#: Stages one version of a model holds at a time; any number of versions
#: may be `none` or `archived`.
EXCLUSIVE_STAGES = ("staging", "production", "latest")


def _check_name(name: Any, kind: str) -> None:
    from store.artifacts import check_name  # ZenML's `validate_name`

    check_name(name, kind)


def _check_stage(stage: Any) -> str | None:
    stage = getattr(stage, "value", stage)
    if stage is not None and stage not in STAGES:
        raise InvalidInput(f"`{stage}` is not a valid model stage.")
    return stage


def _lock_model(session: Session, model_id: Any) -> None:
    """Serialize the writes that depend on a model's versions (numbering,
    stages): a no-op UPDATE locks the model row on PostgreSQL and MariaDB
    and takes SQLite's write lock, so the reads that follow see every
    version committed before."""
    session.execute(update(Model).where(Model.id == model_id).values(updated=Model.updated))


def _forget_versions(session: Session, version_ids: list) -> None:
    """Tags and run metadata of deleted versions (links go by cascade)."""
    from store.artifacts import forget_run_metadata
    from store.tags import TagLink

    if version_ids:
        session.execute(TagLink.__table__.delete().where(
            TagLink.resource_type == "model_version", TagLink.resource_id.in_(version_ids)
        ))
        forget_run_metadata(session, "model_version", version_ids)


def _present_one(resource: Resource, row: Any, hydrate: bool) -> dict:
    return resource.present_many(object_session(row), [row], hydrate)[0]


# --- models ----------------------------------------------------------------


def _latest_versions(session: Session, model_ids: list) -> dict:
    """{model_id: (name, id)} of the highest-numbered version of each model."""
    if not model_ids:
        return {}
    top = (
        select(ModelVersion.model_id, func.max(ModelVersion.number).label("number"))
        .where(ModelVersion.model_id.in_(model_ids))
        .group_by(ModelVersion.model_id)
        .subquery()
    )
    rows = session.execute(
        select(ModelVersion.model_id, ModelVersion.name, ModelVersion.id).join(
            top, and_(ModelVersion.model_id == top.c.model_id, ModelVersion.number == top.c.number)
        )
    )
    return {model_id: (name, id_) for model_id, name, id_ in rows}


class ModelResource(Resource):
    noun = "model"
    table = Model
    tag_type = "model"

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        ids = [r.id for r in rows]
        tags = tags_for(session, "model", ids)
        latest = _latest_versions(session, ids)
        answers = []
        for row in rows:
            answer = Resource.present(self, row, hydrate)
            name, id_ = latest.get(row.id, (None, None))
            answer["body"].update(tags=tags.get(row.id, []), latest_version_name=name, latest_version_id=id_)
            answers.append(answer)
        return answers

    def present(self, row: Model, hydrate: bool) -> dict:
        return _present_one(self, row, hydrate)

    def metadata(self, row: Model) -> dict:
        fields = ("license", "description", "audience", "use_cases", "limitations", "trade_offs", "ethics")
        return {**{f: getattr(row, f) for f in fields}, "save_models_to_registry": row.save_models_to_registry}

    def build(self, session: Session, data: dict, actor: Actor) -> Model:
        _check_name(data.get("name"), "Model")
        return super().build(session, data, actor)

    def apply(self, session: Session, row: Model, data: dict, actor: Actor) -> None:
        if data.get("name") is not None:
            _check_name(data["name"], "Model")
        super().apply(session, row, data, actor)
        row.updated = utcnow()

    def check_unique(self, session: Session, row: Model, action: str) -> None:
        try:
            super().check_unique(session, row, action)
        except EntityExists:
            raise EntityExists(
                f"Unable to {action} model {row.name}: A model with this name already exists."
            ) from None

    def before_delete(self, session: Session, row: Model, actor: Actor) -> None:
        versions = list(session.scalars(select(ModelVersion.id).where(ModelVersion.model_id == row.id)))
        _forget_versions(session, versions)


MODELS = ModelResource()


# --- model versions --------------------------------------------------------


def _linked_artifacts(session: Session, version_ids: list) -> dict:
    """{version_id: {"model_artifact_ids": {name: {version: id}}, ...}}."""
    from store.artifacts import Artifact, ArtifactVersion

    found: dict = defaultdict(lambda: {"model_artifact_ids": {}, "data_artifact_ids": {}, "deployment_artifact_ids": {}})
    if not version_ids:
        return found
    rows = session.execute(
        select(
            ModelVersionArtifact.model_version_id, ModelVersionArtifact.is_model_artifact,
            ModelVersionArtifact.is_deployment_artifact, Artifact.name, ArtifactVersion.version, ArtifactVersion.id,
        )
        .join(ArtifactVersion, ArtifactVersion.id == ModelVersionArtifact.artifact_version_id)
        .join(Artifact, Artifact.id == ArtifactVersion.artifact_id)
        .where(ModelVersionArtifact.model_version_id.in_(version_ids))
        .order_by(ModelVersionArtifact.created)
    )
    for version_id, is_model, is_deployment, name, version, artifact_version_id in rows:
        kind = "model_artifact_ids" if is_model else "deployment_artifact_ids" if is_deployment else "data_artifact_ids"
        found[version_id][kind].setdefault(name, {})[str(version)] = artifact_version_id
    return found


def _linked_runs(session: Session, version_ids: list) -> dict:
    """{version_id: {run_name: run_id}}."""
    from store.runs import PipelineRun

    found: dict = defaultdict(dict)
    if version_ids:
        for version_id, name, run_id in session.execute(
            select(ModelVersionPipelineRun.model_version_id, PipelineRun.name, PipelineRun.id)
            .join(PipelineRun, PipelineRun.id == ModelVersionPipelineRun.pipeline_run_id)
            .where(ModelVersionPipelineRun.model_version_id.in_(version_ids))
            .order_by(ModelVersionPipelineRun.created)
        ):
            found[version_id][name] = run_id
    return found


class ModelVersionResource(Resource):
    noun = "model version"
    table = ModelVersion
    unique = ("name", "model_id")
    extra_filters = {"number": Kind.NUMBER, "stage": Kind.STRING, "model_id": Kind.UUID}
    tag_type = "model_version"

    def present_many(self, session: Session, rows: list, hydrate: bool, with_services: bool = True) -> list[dict]:
        """`with_services=False`: without resources, as a service nests its version."""
        from store.artifacts import run_metadata_for
        from store.services import services_of_versions

        ids = [r.id for r in rows]
        artifacts = _linked_artifacts(session, ids)
        runs = _linked_runs(session, ids)
        tags = tags_for(session, "model_version", ids)
        model_rows = session.scalars(MODELS.base_query().where(Model.id.in_({r.model_id for r in rows}))).unique().all() if rows else []
        models = {m["id"]: m for m in MODELS.present_many(session, list(model_rows), hydrate=False)}
        metadata = run_metadata_for(session, "model_version", ids) if hydrate else {}
        services = services_of_versions(session, ids, hydrate) if with_services else {}
        answers = []
        for row in rows:
            answer = Resource.present(self, row, hydrate)
            answer["body"].update(
                stage=row.stage, number=row.number, model=models[row.model_id],
                **artifacts[row.id], pipeline_run_ids=runs[row.id], tags=tags.get(row.id, []),
            )
            if hydrate:
                answer["metadata"].update(description=row.description, run_metadata=metadata.get(row.id, {}))
            answer["resources"] = {"services": services[row.id]} if with_services else None
            answers.append(answer)
        return answers

    def present(self, row: ModelVersion, hydrate: bool) -> dict:
        return _present_one(self, row, hydrate)

    def apply(self, session: Session, row: ModelVersion, data: dict, actor: Actor) -> None:
        """ZenML's `update_model_version`: stage (promotion), name, description, tags."""
        if data.get("model") != row.model_id:
            raise NotFound(f"Model version {row.id} not found.")
        stage = _check_stage(data.get("stage"))
        if stage is not None:
            _lock_model(session, row.model_id)
            if stage in EXCLUSIVE_STAGES:
                holders = session.execute(
                    select(ModelVersion.id, ModelVersion.name)
                    .where(ModelVersion.model_id == row.model_id, ModelVersion.stage == stage, ModelVersion.id != row.id)
                    .with_for_update()
                ).all()
                if holders and not data.get("force"):
                    # ZenML raises a bare RuntimeError here (500); the client's
                    # `set_stage(force=False)` surfaces it as such.
                    raise ZenyardError(f"Model version {holders[0].name} is in {stage}, but `force` flag is False.")
                if holders:
                    session.execute(
                        update(ModelVersion).where(ModelVersion.id.in_([h.id for h in holders]))
                        .values(stage="archived", updated=utcnow())
                    )
            row.stage = stage
        if data.get("name") is not None:
            _check_name(data["name"], "ModelVersion")
            row.name = data["name"]
        if data.get("description") is not None:
            row.description = data["description"]
        row.updated = utcnow()

    def before_delete(self, session: Session, row: ModelVersion, actor: Actor) -> None:
        _forget_versions(session, [row.id])


MODEL_VERSIONS = ModelVersionResource()


def _retrying(attempt: Callable[[], dict], tries: int = 5) -> dict:
    """Run a unit of work again when it lost a race (a unique key taken
    between its read and its write, e.g. a new tag's name)."""
    for left in reversed(range(tries)):
        try:
            return attempt()
        except EntityExists as error:
            if left == 0 or not isinstance(error.__cause__, IntegrityError):
                raise
    raise AssertionError("unreachable")


def _workspace_of(db: Database, workspace: Any, data: dict, noun: str) -> Any:
    """The URL's workspace, which the request body must name."""
    from store.workspaces import WORKSPACES

    with db.reading() as session:
        workspace_id = find_row(session, WORKSPACES, workspace).id
    if data.get("workspace") != workspace_id:
        raise IllegalOperation(
            f"Creating {noun} outside of the workspace scope of this endpoint `{workspace}` is not supported."
        )
    return workspace_id


def create_model_version(db: Database, workspace: Any, model_name_or_id: Any, data: dict, actor: Actor) -> dict:
    """`POST /workspaces/{ws}/models/{model}/model_versions`: the next number."""
    _workspace_of(db, workspace, data, "model versions")
    if data.get("number") is not None:
        raise BadRequest("`number` field  must be None during model version creation.")
    if data.get("name") is not None:
        _check_name(data["name"], "ModelVersion")
    stage = _check_stage(data.get("stage"))

    def attempt() -> dict:
        with db.unit_of_work() as session:
            model = find_row(session, MODELS, model_name_or_id)
            if data.get("model") != model.id:
                raise IllegalOperation(
                    f"The model of the model version ({data.get('model')}) does not match "
                    f"the model of the URL ({model.id})."
                )
            _lock_model(session, model.id)
            name = data.get("name")
            if name is not None and session.scalar(
                select(ModelVersion.id).where(ModelVersion.model_id == model.id, ModelVersion.name == name).limit(1)
            ):
                raise EntityExists(
                    f"Unable to create model version {name}: A model version with "
                    f"this name already exists in {model.name} model."
                )
            highest = session.scalar(
                select(ModelVersion.number).where(ModelVersion.model_id == model.id)
                .order_by(ModelVersion.number.desc()).limit(1).with_for_update()
            )
            number = (highest or 0) + 1
            row = ModelVersion(
                id=uuid.uuid4(), model_id=model.id, number=number, name=name or str(number),
                description=data.get("description"), stage=stage,
            )
            MODEL_VERSIONS.assign_owner(session, row, data, actor)
            session.add(row)
            session.flush()
            attach_tags(session, "model_version", row.id, data.get("tags"))
            return MODEL_VERSIONS.present(row, hydrate=True)

    return _retrying(attempt)


def list_versions_of_model(db: Database, model_name_or_id: Any, params, actor: Actor) -> dict:
    """`GET /models/{model}/model_versions`; 404 when there is no such model
    (checked after the query and the page, as the other scoped lists do)."""
    from store.crud import list_entities
    from store.resources import as_uuid

    model_id = as_uuid(model_name_or_id)
    if model_id is None:
        with db.reading() as session:
            model_id = find_row(session, MODELS, model_name_or_id).id
    page = list_entities(db, MODEL_VERSIONS, params, actor, scope={"model_id": model_id})
    if not page["total"]:
        with db.reading() as session:
            find_row(session, MODELS, model_id)
    return page


# --- links of model versions to artifact versions and runs ------------------


class LinkResource(Resource):
    """A link of a model version to what it records: no name, no user in
    its body, and the linked object nested as its own area presents it."""

    unique = ()
    target: str  # the request field (and response key) of the linked object
    target_column: str

    def target_resource(self) -> Resource:
        raise NotImplementedError

    def named(self, op: str, value: str) -> Any:
        """Links whose linked object's name matches (`artifact_name=...`)."""
        raise NotImplementedError

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        for name in ("model_id", "model_version_id", self.target_column):
            fields[name] = FilterField(Kind.UUID, getattr(self.table, name))
        return fields

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        resource = self.target_resource()
        ids = {getattr(r, self.target_column) for r in rows}
        targets = session.scalars(resource.base_query().where(resource.table.id.in_(ids))).unique().all() if ids else []
        nested = {t["id"]: t for t in resource.present_many(session, list(targets), hydrate=False)}
        return [
            {
                "id": row.id, "permission_denied": False, "metadata": {} if hydrate else None, "resources": None,
                "body": {
                    "created": row.created, "updated": row.updated, "model": row.model_id,
                    "model_version": row.model_version_id, self.target: nested.get(getattr(row, self.target_column)),
                    **{flag: getattr(row, flag) for flag in ("is_model_artifact", "is_deployment_artifact") if hasattr(row, flag)},
                },
            }
            for row in rows
        ]

    def present(self, row: Any, hydrate: bool) -> dict:
        return _present_one(self, row, hydrate)


def _only(*flags: str) -> Callable[[str, str], Any]:
    """`only_..._artifacts=true`: links with exactly these flags set."""

    def condition(op: str, value: str) -> Any:
        if not parse_bool(value):
            return true()
        return and_(*(getattr(ModelVersionArtifact, f"is_{kind}_artifact").is_(kind in flags) for kind in ("model", "deployment")))

    return condition


class ArtifactLinkResource(LinkResource):
    noun = "model version artifact link"
    table = ModelVersionArtifact
    target, target_column = "artifact_version", "artifact_version_id"

    def target_resource(self) -> Resource:
        from store.artifacts import ARTIFACT_VERSIONS

        return ARTIFACT_VERSIONS

    def _artifacts(self, condition: Callable[[Any], Any]) -> Any:
        from store.artifacts import Artifact, ArtifactVersion

        return ModelVersionArtifact.artifact_version_id.in_(
            select(ArtifactVersion.id).join(Artifact, Artifact.id == ArtifactVersion.artifact_id).where(condition(Artifact))
        )

    def named(self, op: str, value: str) -> Any:
        return self._artifacts(lambda artifact: _string_condition(artifact.name, op, value))

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        custom = {
            "artifact_name": (Kind.STRING, self.named),
            "has_custom_name": (Kind.BOOL, lambda op, v: self._artifacts(lambda a: a.has_custom_name.is_(parse_bool(v)))),
            "only_data_artifacts": (Kind.BOOL, _only()),
            "only_model_artifacts": (Kind.BOOL, _only("model")),
            "only_deployment_artifacts": (Kind.BOOL, _only("deployment")),
        }
        for name, (kind, condition) in custom.items():
            fields[name] = FilterField(kind, None, sortable=False, always=True, custom=condition)
        return fields


class RunLinkResource(LinkResource):
    noun = "model version pipeline run link"
    table = ModelVersionPipelineRun
    target, target_column = "pipeline_run", "pipeline_run_id"

    def target_resource(self) -> Resource:
        from store.runs import RUNS

        return RUNS

    def named(self, op: str, value: str) -> Any:
        from store.runs import PipelineRun

        return ModelVersionPipelineRun.pipeline_run_id.in_(
            select(PipelineRun.id).where(_string_condition(PipelineRun.name, op, value))
        )

    def filters(self) -> dict[str, FilterField]:
        fields = super().filters()
        fields["pipeline_run_name"] = FilterField(Kind.STRING, None, sortable=False, always=True, custom=self.named)
        return fields


MODEL_VERSION_ARTIFACTS = ArtifactLinkResource()
MODEL_VERSION_RUNS = RunLinkResource()


def create_link(db: Database, links: LinkResource, workspace: Any, model_version_id: Any, data: dict, actor: Actor) -> dict:
    """`POST /workspaces/{ws}/model_versions/{id}/artifacts|runs`: link, or
    answer the existing link (ZenML's links are idempotent)."""
    if data.get("model_version") != model_version_id:
        raise IllegalOperation(
            f"The model version id in your path `{model_version_id}` does not match the "
            f"model version specified in the request model `{data.get('model_version')}`"
        )
    _workspace_of(db, workspace, data, f"{links.noun}s")
    if data.get("user") != actor.id:
        raise IllegalOperation(f"Creating {links.noun}s for a user other than yourself is not supported.")
    if data.get("is_model_artifact") and data.get("is_deployment_artifact"):
        raise InvalidInput("Artifact cannot be a model artifact and deployment artifact at the same time.")
    target_id = data.get(links.target)

    def existing(session: Session) -> Any:
        return session.scalars(select(links.table).where(
            links.table.model_version_id == model_version_id, getattr(links.table, links.target_column) == target_id
        ).limit(1)).first()

    try:
        with db.unit_of_work() as session:
            version = find_row(session, MODEL_VERSIONS, model_version_id)
            if data.get("model") != version.model_id:
                raise BadRequest(f"Model version `{version.id}` belongs to model `{version.model_id}`, not `{data.get('model')}`.")
            found = existing(session)
            if found is not None:
                return links.present(found, hydrate=False)
            find_row(session, links.target_resource(), target_id)
            row = links.table(
                model_id=version.model_id, model_version_id=version.id, workspace_id=version.workspace_id,
                user_id=actor.id, **{links.target_column: target_id},
                **{flag: bool(data.get(flag)) for flag in ("is_model_artifact", "is_deployment_artifact") if hasattr(links.table, flag)},
            )
            session.add(row)
            session.flush()
            return links.present(row, hydrate=True)
    except EntityExists as error:
        # a concurrent request made the same link first: answer that one
        if not isinstance(error.__cause__, IntegrityError):
            raise
        with db.reading() as session:
            found = existing(session)
            if found is None:
                raise
            return links.present(found, hydrate=False)


def delete_link(db: Database, links: LinkResource, model_version_id: Any, name_or_id: Any) -> None:
    """Delete one link of a model version, by its id or the linked object's name."""
    from store.resources import as_uuid

    with db.unit_of_work() as session:
        version = find_row(session, MODEL_VERSIONS, model_version_id)
        key = as_uuid(name_or_id)
        which = links.table.id == key if key is not None else links.named("equals", str(name_or_id))
        link = session.scalars(select(links.table).where(links.table.model_version_id == version.id, which).limit(1)).first()
        if link is None:
            raise NotFound(
                f"Unable to delete model version link with name or ID `{name_or_id}`: "
                f"No model version link with this name found."
            )
        session.delete(link)


def delete_artifact_links(db: Database, model_version_id: Any, only_links: bool = True) -> None:
    """Unlink every artifact version of a model version; with `only_links`
    false, delete those artifact versions too (not their stored files)."""
    from store.artifacts import ArtifactVersion, forget_versions

    with db.unit_of_work() as session:
        version = find_row(session, MODEL_VERSIONS, model_version_id)
        linked = list(session.scalars(
            select(ModelVersionArtifact.artifact_version_id).where(ModelVersionArtifact.model_version_id == version.id)
        ))
        session.execute(delete(ModelVersionArtifact).where(ModelVersionArtifact.model_version_id == version.id))
        if not only_links and linked:
            forget_versions(session, linked)
            session.execute(delete(ArtifactVersion).where(ArtifactVersion.id.in_(linked)))
