"""ZenML's list grammar: filters, sorting and pages, turned into SQL.

A filter value is `op:value` or a plain value (meaning `equals`), with the
operators `equals contains startswith endswith gt gte lt lte`. What an
operator may apply to depends on the field's kind, as in ZenML's
`BaseFilter`. Sorting is `sort_by=[asc:|desc:]field`; pages count from 1.
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import String, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from store.errors import BadRequest, InvalidInput

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAXIMUM = 10_000

STRING_OPS = ("equals", "contains", "startswith", "endswith")
ORDER_OPS = ("equals", "gt", "gte", "lt", "lte")
ALL_OPS = STRING_OPS + ORDER_OPS[1:]


class Kind(enum.Enum):
    STRING = "string"
    UUID = "uuid"
    BOOL = "bool"
    NUMBER = "number"
    DATETIME = "datetime"


@dataclass(frozen=True)
class FilterField:
    """A filterable field: its kind and the SQL expression it compares.

    `column` is an expression, or a function of the query parameter value
    that returns a condition (for fields that need a sub-query, such as a
    user's name on an entity that stores the user id).
    """

    kind: Kind
    column: Any
    sortable: bool = True
    custom: Callable[[str, Any], ColumnElement] | None = None
    #: Scopes and relationship filters narrow the result whatever the
    #: logical operator, as ZenML's scope and custom filters do.
    always: bool = False


@dataclass
class ListParams:
    """A parsed list request."""

    page: int = 1
    size: int = PAGE_SIZE_DEFAULT
    sort_by: str = "created"
    logical_operator: str = "and"
    hydrate: bool = False
    filters: dict[str, str] = field(default_factory=dict)


def split_operator(raw: str) -> tuple[str, str]:
    """`'contains:foo'` -> `('contains', 'foo')`; no known prefix: equals."""
    head, sep, tail = raw.partition(":")
    if sep and head in ALL_OPS:
        return head, tail
    return "equals", raw


def _compare(expr: Any, op: str, value: Any) -> ColumnElement:
    if op == "equals":
        return expr == value
    if op == "gt":
        return expr > value
    if op == "gte":
        return expr >= value
    if op == "lt":
        return expr < value
    return expr <= value


def _string_condition(expr: Any, op: str, value: str) -> ColumnElement:
    # Case-insensitive like ZenML on its default SQLite store, on every
    # backend; wildcards in the value are matched literally.
    if op == "contains":
        return expr.icontains(value, autoescape=True)
    if op == "startswith":
        return expr.istartswith(value, autoescape=True)
    if op == "endswith":
        return expr.iendswith(value, autoescape=True)
    return expr == value


def _allowed(name: str, op: str, ops: Sequence[str]) -> None:
    if op not in ops:
        raise InvalidInput(
            f"This datatype can not be filtered using this operation: "
            f"'{op}'. The allowed operations are: {list(ops)} (field '{name}')"
        )


def parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput("Invalid value passed as UUID query parameter.") from None


def parse_bool(value: str) -> bool:
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise InvalidInput(f"Invalid boolean value: {value!r}")


def condition(name: str, spec: FilterField, raw: str, dialect: str) -> ColumnElement:
    """The SQL condition for one `name=raw` query parameter."""
    op, value = split_operator(raw)
    if spec.custom is not None:
        return spec.custom(op, value)
    expr = spec.column
    if spec.kind is Kind.STRING:
        _allowed(name, op, STRING_OPS)
        return _string_condition(expr, op, value)
    if spec.kind is Kind.UUID:
        _allowed(name, op, STRING_OPS)
        if op == "equals":
            return expr == parse_uuid(value)
        if dialect == "postgresql":
            return _string_condition(cast(expr, String), op, value)
        # Elsewhere a UUID is stored as 32 hex digits without dashes.
        return _string_condition(
            type_coerce(expr, String), op, value.replace("-", "").lower()
        )
    if spec.kind is Kind.BOOL:
        # ZenML compares booleans with equals whatever the operator.
        return expr == parse_bool(value)
    if spec.kind is Kind.NUMBER:
        _allowed(name, op, ORDER_OPS)
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput(f"Invalid number for '{name}': {value!r}") from None
        return _compare(expr, op, number)
    _allowed(name, op, ORDER_OPS)
    try:
        when = datetime.strptime(value, DATETIME_FORMAT)
    except ValueError:
        raise InvalidInput(
            "The datetime filter only works with values in the following "
            f"format: {DATETIME_FORMAT}"
        ) from None
    return _compare(expr, op, when)


def where_clause(
    fields: Mapping[str, FilterField], params: ListParams, dialect: str
) -> ColumnElement | None:
    """Filter conditions joined with the request's logical operator, and
    the scope conditions that always apply."""
    conditions, scopes = [], []
    for name, raw in params.filters.items():
        if raw is None or name not in fields:
            continue
        spec = fields[name]
        # the query schema may have parsed a value already (a UUID, a bool)
        text = raw if isinstance(raw, str) else str(raw)
        (scopes if spec.always else conditions).append(condition(name, spec, text, dialect))
    if conditions:
        joined = or_(*conditions) if params.logical_operator == "or" else and_(*conditions)
        scopes.append(joined)
    if not scopes:
        return None
    return and_(*scopes)


def sort_order(
    sorts: Mapping[str, Any], sort_by: str, tiebreak: Any
) -> list[Any]:
    """ORDER BY for `[asc:|desc:]field`, with a unique tie-breaker."""
    direction, sep, column = sort_by.partition(":")
    if not sep:
        direction, column = "asc", sort_by
    elif direction not in ("asc", "desc"):
        # ZenML logs a warning and sorts ascending on an unknown operand.
        direction = "asc"
    if column not in sorts:
        raise InvalidInput(
            f"You can only sort by valid fields of this resource: '{sort_by}'"
        )
    expr = sorts[column]
    if direction == "desc":
        return [expr.desc(), tiebreak.desc()]
    return [expr.asc(), tiebreak.asc()]


@dataclass
class Page:
    index: int
    max_size: int
    total_pages: int
    total: int
    items: list

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "max_size": self.max_size,
            "total_pages": self.total_pages,
            "total": self.total,
            "items": self.items,
        }


def paginate(
    session: Session,
    query: Select,
    order: list[Any],
    params: ListParams,
    present: Callable[[list], list],
    load: Callable[[Select], list] | None = None,
) -> Page:
    """Count, check the page, fetch one page (with `load`, or as ORM
    entities) and present its rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    total = total or 0
    total_pages = max(1, math.ceil(total / params.size))
    if params.page > total_pages:
        raise BadRequest(
            f"Invalid page {params.page}. The requested page size is "
            f"{params.size} and there are a total of {total} items for this "
            f"query. The maximum page value therefore is {total_pages}."
        )
    query = query.order_by(*order).limit(params.size).offset(params.size * (params.page - 1))
    rows = load(query) if load is not None else session.scalars(query).unique().all()
    return Page(
        index=params.page,
        max_size=params.size,
        total_pages=total_pages,
        total=total,
        items=present(list(rows)),
    )


__all__ = [
    "DATETIME_FORMAT",
    "FilterField",
    "Kind",
    "ListParams",
    "Page",
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAXIMUM",
    "condition",
    "paginate",
    "parse_bool",
    "parse_uuid",
    "sort_order",
    "split_operator",
    "where_clause",
]
