"""Tags and what they are attached to: tables."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, Entity


class Tag(Entity, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    color: Mapped[str] = mapped_column(String(32), default="grey")


class TagLink(Base):
    """A tag on a resource: a run, an artifact, a model, ... (ZenML's
    TagResourceTypes: artifact, artifact_version, model, model_version,
    pipeline, pipeline_run, run_template)."""

    __tablename__ = "tag_links"
    __table_args__ = (Index("ix_tag_links_resource", "resource_type", "resource_id"),)

    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    resource_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)


# --- the tag resource and the helpers other resources use ------------------

import functools  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any, Iterable  # noqa: E402

from sqlalchemy import and_, bindparam, func, or_, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from store.filtering import FilterField, Kind  # noqa: E402
from store.resources import Actor, Resource  # noqa: E402

COLORS = ("grey", "purple", "red", "green", "yellow", "orange", "lime", "teal", "turquoise", "magenta", "blue")


class TagResource(Resource):
    noun = "tag"
    table = Tag
    extra_filters = {"color": Kind.STRING}

    def present_many(self, session: Session, rows: list, hydrate: bool) -> list[dict]:
        counts = tagged_counts(session, [r.id for r in rows])
        return [self._present(r, hydrate, counts.get(r.id, 0)) for r in rows]

    def present(self, row: Tag, hydrate: bool) -> dict:
        from sqlalchemy.orm import object_session

        session = object_session(row)
        count = tagged_counts(session, [row.id]).get(row.id, 0) if session is not None else 0
        return self._present(row, hydrate, count)

    def _present(self, row: Tag, hydrate: bool, count: int) -> dict:
        answer = Resource.present(self, row, hydrate)
        answer["body"].update(color=row.color, tagged_count=count)
        if hydrate:
            answer["metadata"] = None  # ZenML's tags have no metadata
        return answer

    def build(self, session: Session, data: dict, actor: Actor) -> Tag:
        import random

        from store.artifacts import check_name

        check_name(data.get("name"), "Tag")
        return Tag(name=data["name"], color=data.get("color") or random.choice(COLORS))

    def apply(self, session: Session, row: Tag, data: dict, actor: Actor) -> None:
        from store.artifacts import check_name
        from store.base import utcnow

        if data.get("name") is not None:
            check_name(data["name"], "Tag")
            row.name = data["name"]
        if data.get("color") is not None:
            row.color = data["color"]
        row.updated = utcnow()

    def check_unique(self, session: Session, row: Tag, action: str) -> None:
        from store.errors import EntityExists

        from sqlalchemy import true

        with session.no_autoflush:
            clash = session.scalar(
                select(Tag.id).where(Tag.name == row.name, Tag.id != row.id if row.id else true()).limit(1)
            )
        if clash is not None:
            raise EntityExists(f"Unable to {action} tag {row.name}: A tag with this name already exists.")


TAGS = TagResource()


def tagged_counts(session: Session, tag_ids: list) -> dict:
    if not tag_ids:
        return {}
    rows = session.execute(
        select(TagLink.tag_id, func.count()).where(TagLink.tag_id.in_(tag_ids)).group_by(TagLink.tag_id)
    )
    return dict(rows.all())


def _tag_rows(session: Session, names: Iterable[str], create: bool) -> list[Tag]:
    import random

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(wanted))).all()}
    if create:
        for name in wanted:
            if name not in found:
                found[name] = Tag(name=name, color=random.choice(COLORS))
                session.add(found[name])
        session.flush()
    return [found[n] for n in wanted if n in found]


def attach_tags(session: Session, resource_type: str, resource_id: Any, names: Iterable[str] | None) -> None:
    """Tag a resource, creating tags that do not exist yet."""
    tags = _tag_rows(session, names or [], create=True)
    if not tags:
        return
    present = set(
        session.scalars(
            select(TagLink.tag_id).where(
                TagLink.resource_type == resource_type, TagLink.resource_id == resource_id,
                TagLink.tag_id.in_([t.id for t in tags]),
            )
        ).all()
    )
    for tag in tags:
        if tag.id not in present:
            session.add(TagLink(tag_id=tag.id, resource_type=resource_type, resource_id=resource_id))


def detach_tags(session: Session, resource_type: str, resource_id: Any, names: Iterable[str] | None) -> None:
    tags = _tag_rows(session, names or [], create=False)
    if tags:
        session.execute(
            TagLink.__table__.delete().where(
                TagLink.resource_type == resource_type, TagLink.resource_id == resource_id,
                TagLink.tag_id.in_([t.id for t in tags]),
            )
        )


def forget_tags(session: Session, resource_type: str, resource_id: Any) -> None:
    """Drop every tag link of a deleted resource."""
    session.execute(
        TagLink.__table__.delete().where(TagLink.resource_type == resource_type, TagLink.resource_id == resource_id)
    )


def tags_for(session: Session, resource_type: str, resource_ids: list) -> dict[Any, list[dict]]:
    """The tags of many resources in one query, as TagResponse dicts (not hydrated)."""
    return tags_of(session, {resource_type: resource_ids})[resource_type]


@functools.cache
def _tags_query(resource_types: tuple[str, ...]):
    """The tags of resources of these types, `ids_<type>` bound as expanding
    INs; built once per set of types (building costs more than running it)."""
    conditions = [
        and_(TagLink.resource_type == resource_type,
             TagLink.resource_id.in_(bindparam(f"ids_{resource_type}", expanding=True)))
        for resource_type in resource_types
    ]
    tags = Tag.__table__
    return (
        select(TagLink.resource_type.label("tagged_type"), TagLink.resource_id.label("tagged_id"), tags)
        .join(tags, tags.c.id == TagLink.tag_id)
        .where(or_(*conditions))
        .order_by(tags.c.name)
    )


def tags_of(session: Session, wanted: dict[str, list]) -> dict[str, dict[Any, list[dict]]]:
    """{resource type: {resource id: tags}} of resources of several types
    (an artifact version and its artifact) in one query."""
    found: dict[str, dict[Any, list[dict]]] = {resource_type: defaultdict(list) for resource_type in wanted}
    asked = {resource_type: list(ids) for resource_type, ids in wanted.items() if ids}
    if not asked:
        return found
    parameters = {f"ids_{resource_type}": ids for resource_type, ids in asked.items()}
    from store.records import fetch

    rows = fetch(session, _tags_query(tuple(sorted(asked))), parameters)
    counts = tagged_counts(session, list({tag.id for tag in rows}))
    for tag in rows:
        found[tag.tagged_type][tag.tagged_id].append(TAGS._present(tag, False, counts.get(tag.id, 0)))
    return found


def tag_filter(resource_type: str, id_column) -> FilterField:
    """`?tag=name` on a list: resources that carry the tag (always ANDed)."""

    def condition(op: str, value: str):
        from store.filtering import _string_condition

        return id_column.in_(
            select(TagLink.resource_id)
            .join(Tag, Tag.id == TagLink.tag_id)
            .where(TagLink.resource_type == resource_type, _string_condition(Tag.name, op, value))
        )

    return FilterField(Kind.STRING, None, sortable=False, always=True, custom=condition)
