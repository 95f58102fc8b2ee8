"""`/openapi.json` declares every route, and what the routes answer fits the
ZenML 0.66.0 contract's response schemas."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from blueprints.contract import REGISTERED
from schemas.contract import document


def norm(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def contract_validator(component: str) -> Draft202012Validator:
    doc = document()
    return Draft202012Validator({"$ref": f"#/components/schemas/{component}", "components": doc["components"]})


def assert_fits(component: str, payload) -> None:
    errors = sorted(contract_validator(component).iter_errors(payload), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_every_route_is_declared_with_a_summary(sqlite_app):
    spec = sqlite_app.test_client().get("/openapi.json").json
    declared = {
        (m.upper(), norm(p)): op for p, ops in spec["paths"].items() for m, op in ops.items() if m != "parameters"
    }
    for method, path, *_ in REGISTERED:
        op = declared.get((method, norm(path)))
        assert op is not None, (method, path)
        assert op.get("summary"), (method, path)
        assert op.get("operationId"), (method, path)


def test_declared_operations_are_contract_operations(sqlite_app):
    spec = sqlite_app.test_client().get("/openapi.json").json
    contract_ops = {(m.upper(), norm(p)) for p, ops in document()["paths"].items() for m in ops}
    from blueprints.template_runs import OWN_OPERATIONS

    ours = {(m.upper(), norm(p)) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    # the workload-manager operations ZenML registers only with one, and Zenyard's cancel
    own = {(m, norm(p)) for m, p in OWN_OPERATIONS}
    assert ours - own <= contract_ops, sorted(ours - own - contract_ops)


def test_swagger_ui_is_served(sqlite_app):
    response = sqlite_app.test_client().get("/docs")
    assert response.status_code == 200 and b"swagger" in response.data.lower()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_responses_fit_the_contract(client, make_user):
    make_user("fits", password="pw", full_name="Fits Well")
    assert_fits("ServerModel", client.get("/api/v1/info").json)
    assert_fits("UserResponse", client.get("/api/v1/current-user").json)
    assert_fits("Page_UserResponse_", client.get("/api/v1/users?hydrate=true").json)
    assert_fits("Page_UserResponse_", client.get("/api/v1/users").json)
    assert_fits("Page_WorkspaceResponse_", client.get("/api/v1/workspaces?hydrate=true").json)
    assert_fits("WorkspaceResponse", client.get("/api/v1/workspaces/default").json)
    assert_fits("ServerSettingsResponse", client.get("/api/v1/settings").json)
    login = client.http.post("/api/v1/login", data={"username": "fits", "password": "pw"}).json
    assert_fits("OAuthTokenResponse", login)
    created = client.post("/api/v1/users", json={"name": "pending", "is_admin": False}).json
    assert_fits("UserResponse", created)
    # ZenML sends naive timestamps
    assert "+" not in created["body"]["created"] and not created["body"]["created"].endswith("Z")
    json.dumps(created)


def test_every_contract_filter_is_applied(sqlite_app):
    """A query parameter we accepted but ignored would list too much."""
    from blueprints.crud import LISTED, OPTION_KEYS, PAGING_KEYS
    from schemas.contract import operation

    assert LISTED
    for path, resource in LISTED:
        params = {p["name"] for p in operation("GET", path).get("parameters", []) if p["in"] == "query"}
        ignored = params - set(PAGING_KEYS) - set(OPTION_KEYS) - set(resource.filters())
        assert not ignored, (path, sorted(ignored))
