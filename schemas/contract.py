"""Marshmallow schemas built from ZenML 0.66.0's OpenAPI document.

The document (`zenml-0.66.0-openapi.json`, the published wire contract) says
which fields each request and response has, their types, limits, defaults,
and whether unknown fields are refused. Building the schemas from it keeps
Zenyard's validation and its `/openapi.json` identical to the contract,
instead of 300 hand-written copies drifting from it.

`component(name)` gives the schema of one component; `query_args(method,
path)` the query-parameter schema of one operation.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

CONTRACT = Path(__file__).resolve().parent / "zenml-0.66.0-openapi.json"

STRINGISH = {"string"}


@lru_cache(maxsize=1)
def document() -> dict:
    return json.loads(CONTRACT.read_text())


def _components() -> dict:
    return document()["components"]["schemas"]


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _enum_values(name: str) -> list | None:
    spec = _components().get(name, {})
    return spec.get("enum")


def _kind(spec: dict) -> str:
    """A coarse kind: 'null', 'string', 'ref:Name', 'integer', ..."""
    if "$ref" in spec:
        name = _ref_name(spec["$ref"])
        return "enum:" + name if _enum_values(name) is not None else "ref:" + name
    if "allOf" in spec and len(spec["allOf"]) == 1:
        return _kind(spec["allOf"][0])
    if "enum" in spec:
        return "string"
    return spec.get("type", "any")


def _field_for(spec: dict, *, required: bool = False, nullable: bool = False) -> fields.Field:
    """One marshmallow field for a JSON-schema property."""
    options: dict[str, Any] = {"required": required, "allow_none": nullable}
    if "default" in spec and not required:
        options["load_default"] = spec["default"]
    if spec.get("title") or spec.get("description"):
        options["metadata"] = {
            "description": spec.get("description") or spec.get("title")
        }

    if "anyOf" in spec:
        variants = [v for v in spec["anyOf"] if v.get("type") != "null"]
        nullable = nullable or len(variants) < len(spec["anyOf"])
        options["allow_none"] = nullable
        if len(variants) == 1:
            inner = {k: v for k, v in spec.items() if k != "anyOf"} | variants[0]
            return _field_for(inner, required=required, nullable=nullable)
        if all(_kind(v) in STRINGISH for v in variants):
            lengths = [v["maxLength"] for v in variants if "maxLength" in v]
            if lengths:
                options["validate"] = validate.Length(max=max(lengths))
            return fields.String(**options)
        # A union of unlike types (e.g. a step parameter): accepted as is.
        return fields.Raw(**options)

    kind = _kind(spec)
    if kind.startswith("enum:"):
        values = _enum_values(kind[5:])
        return fields.String(validate=validate.OneOf(values), **options)
    if kind.startswith("ref:"):
        name = kind[4:]
        return fields.Nested(lambda: component(name), **options)
    if "enum" in spec:
        return fields.String(validate=validate.OneOf(spec["enum"]), **options)
    if kind == "string":
        fmt = spec.get("format")
        if fmt == "uuid":
            return fields.UUID(**options)
        if fmt == "date-time":
            return fields.DateTime(**options)
        if "maxLength" in spec or "minLength" in spec:
            options["validate"] = validate.Length(
                min=spec.get("minLength"), max=spec.get("maxLength")
            )
        return fields.String(**options)
    if kind in ("integer", "number"):
        bounds = {}
        if "minimum" in spec:
            bounds["min"] = spec["minimum"]
        if "maximum" in spec:
            bounds["max"] = spec["maximum"]
        if "exclusiveMinimum" in spec:
            bounds.update(min=spec["exclusiveMinimum"], min_inclusive=False)
        if bounds:
            options["validate"] = validate.Range(**bounds)
        return fields.Integer(**options) if kind == "integer" else fields.Float(**options)
    if kind == "boolean":
        return fields.Boolean(**options)
    if kind == "array":
        items = spec.get("items") or {}
        return fields.List(_field_for(items, nullable=True) if items else fields.Raw(), **options)
    if kind == "object":
        values = spec.get("additionalProperties")
        if isinstance(values, dict) and values:
            # typed values: {name: uuid} maps arrive as UUIDs, like pydantic's
            return fields.Dict(keys=fields.String(), values=_field_for(values, nullable=True), **options)
        return fields.Dict(**options)
    return fields.Raw(**options)


_SCHEMAS: dict[str, type[Schema]] = {}


def component(name: str) -> type[Schema]:
    """The marshmallow schema class of the contract's component `name`."""
    if name in _SCHEMAS:
        return _SCHEMAS[name]
    spec = _components()[name]
    required = set(spec.get("required", []))
    attrs: dict[str, Any] = {
        prop: _field_for(prop_spec, required=prop in required)
        for prop, prop_spec in spec.get("properties", {}).items()
    }
    unknown = RAISE if spec.get("additionalProperties") is False else EXCLUDE
    attrs["Meta"] = type("Meta", (), {"unknown": unknown, "ordered": True})
    cls = type(name, (Schema,), attrs)
    cls.__doc__ = spec.get("description") or spec.get("title") or name
    _SCHEMAS[name] = cls
    return cls


def register(name: str, schema: type[Schema]) -> None:
    """Name a schema of Zenyard's own (for routes ZenML does not publish),
    so `component(name)` and routes can use it like a contract component."""
    if name in _SCHEMAS and _SCHEMAS[name] is not schema:
        raise ValueError(f"schema {name!r} is already registered")
    _SCHEMAS[name] = schema


def operation(method: str, path: str) -> dict:
    return document()["paths"][path][method.lower()]


_QUERY: dict[tuple[str, str], type[Schema]] = {}


def query_args(method: str, path: str) -> type[Schema]:
    """The query-parameter schema of one contract operation."""
    key = (method.upper(), path)
    if key in _QUERY:
        return _QUERY[key]
    attrs: dict[str, Any] = {}
    for param in operation(method, path).get("parameters", []):
        if param["in"] != "query":
            continue
        attrs[param["name"]] = _field_for(
            param.get("schema", {}), required=param.get("required", False)
        )
    attrs["Meta"] = type("Meta", (), {"unknown": EXCLUDE, "ordered": True})
    op_id = operation(method, path).get("operationId", f"{method}_{path}")
    cls = type(f"Query_{op_id}", (Schema,), attrs)
    _QUERY[key] = cls
    return cls


def summary(method: str, path: str) -> str:
    return operation(method, path).get("summary", "")
