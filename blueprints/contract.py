"""Routes declared by their place in the ZenML wire contract.

`@endpoint(blp, "GET", "/api/v1/users")` looks the operation up in the
contract and wires what flask-smorest needs: the query-parameter schema,
the request-body schema, the response schema (for `/openapi.json`), path
parameters (UUIDs checked as ZenML does, 422 when malformed) and the
operation id. The view receives keyword arguments: path parameters,
`query` (a dict) and `body` (a dict), and returns plain data, which is
written as JSON by the app's JSON provider.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any, Callable

from flask import current_app
from flask_smorest import Blueprint
from werkzeug.wrappers import Response

from schemas import contract
from store.errors import InvalidInput

_PARAM = re.compile(r"\{([^}]+)\}")

#: Every route registered through `endpoint`: (method, path, body component,
#: has query parameters, public). Tests walk it to probe every route.
REGISTERED: list[tuple[str, str, str | None, bool, bool]] = []


def flask_path(path: str) -> str:
    """`/users/{user_name_or_id}` -> `/users/<user_name_or_id>`."""
    return _PARAM.sub(r"<\1>", path)


def _ref(spec: dict | None) -> str | None:
    if not spec:
        return None
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    for variant in spec.get("anyOf", []) + spec.get("allOf", []):
        name = _ref(variant)
        if name:
            return name
    return None


def _body_component(op: dict) -> tuple[str | None, str]:
    """The request component and where it comes from (json or form)."""
    content = (op.get("requestBody") or {}).get("content", {})
    if "application/x-www-form-urlencoded" in content:
        return _ref(content["application/x-www-form-urlencoded"].get("schema")), "form"
    return _ref(content.get("application/json", {}).get("schema")), "json"


def _response_component(op: dict) -> str | None:
    content = op.get("responses", {}).get("200", {}).get("content", {})
    return _ref(content.get("application/json", {}).get("schema"))


def _uuid_params(op: dict) -> set[str]:
    return {
        p["name"]
        for p in op.get("parameters", [])
        if p["in"] == "path" and p.get("schema", {}).get("format") == "uuid"
    }


def json_reply(data: Any, status: int = 200) -> Response:
    return current_app.response_class(
        current_app.json.dumps(data), status=status, mimetype="application/json"
    )


def endpoint(
    blp: Blueprint,
    method: str,
    path: str,
    *,
    public: bool = False,
    body: str | None = None,
    contract_path: str | None = None,
) -> Callable:
    """Register the decorated function as the contract's `method path`.

    `body` names a request component when the contract has none (the two
    workload-manager operations); `contract_path` lets a route that ZenML
    does not publish borrow another's parameters.
    """
    method = method.upper()
    try:
        op = contract.operation(method, contract_path or path)
    except KeyError:
        op = {"parameters": [], "responses": {}}
    body_name, body_location = _body_component(op)
    body_name = body or body_name
    has_query = any(p["in"] == "query" for p in op.get("parameters", []))
    uuid_params = _uuid_params(op)

    def decorator(func: Callable) -> Callable:
        summary = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else op.get("summary", "")

        @functools.wraps(func)
        def view(*loaded: Any, **path_params: Any) -> Response:
            for name in uuid_params & path_params.keys():
                try:
                    path_params[name] = uuid.UUID(path_params[name])
                except ValueError:
                    raise InvalidInput(
                        f"Path parameter '{name}' is not a valid UUID: {path_params[name]!r}"
                    ) from None
            args = list(loaded)
            kwargs = dict(path_params)
            if has_query:
                kwargs["query"] = args.pop(0)
            if body_name:
                kwargs["body"] = args.pop(0)
            result = func(**kwargs)
            if isinstance(result, Response):
                return result
            return json_reply(result)

        view.public = public  # read by the authentication hook
        wrapped: Callable = view
        response_name = _response_component(op)
        wrapped = blp.response(
            200, contract.component(response_name) if response_name else None,
            description=op.get("responses", {}).get("200", {}).get("description", "Successful Response"),
        )(wrapped)
        if body_name:
            wrapped = blp.arguments(contract.component(body_name), location=body_location)(wrapped)
        if has_query:
            wrapped = blp.arguments(contract.query_args(method, contract_path or path), location="query")(wrapped)
        wrapped = blp.doc(
            summary=summary,
            operationId=op.get("operationId") or f"{func.__name__}_{method.lower()}",
        )(wrapped)
        REGISTERED.append((method, path, body_name, has_query, public))
        blp.route(
            flask_path(path),
            methods=[method],
            endpoint=f"{func.__name__}_{method.lower()}",
            strict_slashes=True,
        )(wrapped)
        return func

    return decorator
