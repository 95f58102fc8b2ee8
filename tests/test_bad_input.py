"""Every route answers bad input with a 4xx and ZenML's error body, and
writes nothing: malformed JSON, wrong types, unknown fields where ZenML
refuses them, out-of-range pages, malformed ids."""

from __future__ import annotations

import re
import uuid

import pytest
from marshmallow import RAISE, fields
from sqlalchemy import func, select

from blueprints.contract import REGISTERED
from schemas import contract
from store.models import Base

WRONG = {
    fields.String: 12345,
    fields.Boolean: "maybe",
    fields.UUID: "not-a-uuid",
    fields.Dict: "not-an-object",
    fields.List: 7,
    fields.Integer: "seven",
    fields.Float: "seven",
    fields.DateTime: "yesterday",
    fields.Nested: 5,
}


def wrong_value(field: fields.Field):
    for kind, value in WRONG.items():
        if isinstance(field, kind):
            return value
    return None


def concrete(path: str) -> str:
    """A real workspace (so its routes reach validation), unknown ids elsewhere."""
    path = path.replace("{workspace_name_or_id}", "default")
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def required_query(path: str) -> str:
    """Valid values of the query parameters a list route requires (the plugin
    flavors' type and subtype), so the probes below reach what they test."""
    values = []
    for name, field in contract.query_args("GET", path)().fields.items():
        if field.required:
            choices = getattr(field.validate, "choices", None) or ["x"]
            values.append(f"{name}={list(choices)[0]}&")
    return "".join(values)


def row_counts(app) -> dict[str, int]:
    db = app.extensions["zenyard"]["db"]
    with db.reading() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
            if table.name != "worker_heartbeats"
        }


def assert_zenml_error(response, *, status=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.json)
    if status is not None:
        assert response.status_code == status, response.json
    detail = response.json["detail"]
    assert isinstance(detail, list) and len(detail) == 2 and all(isinstance(d, str) for d in detail)


# Validation happens before the store is touched: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

JSON_ROUTES = [(m, p, b) for m, p, b, _, _ in REGISTERED if b and m in ("POST", "PUT")]
LIST_ROUTES = [p for m, p, _, q, _ in REGISTERED if m == "GET" and q and "size" in contract.query_args(m, p)().fields]


@pytest.mark.parametrize("method,path,body", [r for r in JSON_ROUTES if r[1] != "/api/v1/login"])
def test_json_bodies(client, method, path, body):
    before = row_counts(client.app)
    url = concrete(path)
    send = client.post if method == "POST" else client.put

    malformed = send(url, data="{not json", content_type="application/json")
    assert_zenml_error(malformed, status=422)
    not_object = send(url, json=["a", "list"])
    assert_zenml_error(not_object, status=422)

    schema = contract.component(body)()
    for name, field in schema.fields.items():
        value = wrong_value(field)
        if value is None:
            continue
        response = send(url, json={name: value})
        assert_zenml_error(response, status=422)
        assert name in response.json["detail"][1]

    if schema.opts.unknown == RAISE:
        unknown = send(url, json={"no_such_field": 1})
        assert_zenml_error(unknown, status=422)
        assert "no_such_field" in unknown.json["detail"][1]
    assert row_counts(client.app) == before


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_list_pages_and_filters(client, path):
    before = row_counts(client.app)
    url = concrete(path) + "?" + required_query(path)
    accepted = contract.query_args("GET", path)().fields
    for query in ("size=10001", "size=0", "size=many", "page=0", "page=-1", "hydrate=maybe",
                  "logical_operator=xor", "sort_by=no_such_field", "id=not-a-uuid",
                  "created=gte:last-week", "created=contains:2024"):
        if query.split("=")[0] not in accepted:
            continue  # ZenML ignores parameters a route does not declare
        response = client.get(f"{url}{query}")
        assert_zenml_error(response, status=422)
    past_end = client.get(f"{url}page=999")
    assert_zenml_error(past_end, status=400)
    assert "Invalid page 999" in past_end.json["detail"][1]
    # a route under an entity that does not exist answers 404 once the input is valid
    expected = 404 if re.search(r"\{(?!workspace_name_or_id)", path) else 200
    assert client.get(f"{url}size=10000").status_code == expected
    assert row_counts(client.app) == before


@pytest.mark.parametrize(
    "method,path", [(m, p) for m, p, *_ in REGISTERED if "{" in p]
)
def test_unknown_or_malformed_ids(client, method, path):
    send = getattr(client, method.lower())
    kwargs = {"json": {}} if method in ("POST", "PUT") else {}
    missing = send(re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path), **kwargs)
    assert_zenml_error(missing)
    assert missing.status_code in (401, 403, 404, 422)
    malformed = send(re.sub(r"\{[^}]+\}", "no-such-thing", path), **kwargs)
    assert_zenml_error(malformed)


def test_login_form_errors(app):
    http = app.test_client()
    assert_zenml_error(http.post("/api/v1/login", data={}), status=401)
    assert_zenml_error(http.post("/api/v1/login", data={"username": "default", "password": "x"}), status=401)
    assert_zenml_error(http.post("/api/v1/login", data={"password": "not-an-api-key"}), status=401)
    assert_zenml_error(http.post("/api/v1/login", data={"grant_type": "zenml-api-key"}), status=400)
    assert_zenml_error(http.post("/api/v1/login", data={"grant_type": "password"}), status=400)
    assert_zenml_error(http.post("/api/v1/login", data={"grant_type": "no-such-grant"}), status=400)
    # the device grant answers OAuth2 error bodies, which the polling client reads
    device = "urn:ietf:params:oauth:grant-type:device_code"
    for form, error in (
        ({"device_code": "x", "client_id": str(uuid.uuid4())}, "invalid_client"),
        ({"device_code": "x", "client_id": "not-a-uuid"}, "invalid_request"),
        ({"client_id": str(uuid.uuid4())}, "invalid_request"),
    ):
        response = http.post("/api/v1/login", data={"grant_type": device, **form})
        assert response.status_code == 400 and response.json["error"] == error, response.json
        assert set(response.json) == {"error", "error_description", "error_uri"}
    for form in ({}, {"client_id": "not-a-uuid"}):
        assert_zenml_error(http.post("/api/v1/device_authorization", data=form), status=422)


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404 and response.json == {"detail": "Not Found"}
    wrong_method = client.http.patch("/api/v1/users")
    assert wrong_method.status_code == 405
