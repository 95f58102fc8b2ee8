"""Flavors, stack components, stacks and code repositories over the API."""

from __future__ import annotations




def default_workspace(client) -> dict:
    return client.get("/api/v1/workspaces/default").json


def me(client) -> dict:
    return client.get("/api/v1/current-user").json


def register_component(client, name, type_="orchestrator", flavor="local", configuration=None, **extra):
    ws = default_workspace(client)
    body = {
        "user": me(client)["id"], "workspace": ws["id"], "name": name, "type": type_,
        "flavor": flavor, "configuration": configuration or {}, **extra,
    }
    return client.post(f"/api/v1/workspaces/{ws['id']}/components", json=body)


def register_stack(client, name, components):
    ws = default_workspace(client)
    body = {"user": me(client)["id"], "workspace": ws["id"], "name": name, "components": components}
    return client.post("/api/v1/workspaces/default/stacks", json=body)


def test_builtin_flavors_are_listed_by_type(client):
    page = client.get("/api/v1/flavors?type=orchestrator&size=200").json
    names = {f["name"] for f in page["items"]}
    assert {"local", "local_docker", "kubernetes"} <= names
    assert all(f["body"]["type"] == "orchestrator" for f in page["items"])
    local = client.get("/api/v1/flavors?name=local&type=artifact_store&hydrate=true").json["items"][0]
    assert local["metadata"]["source"].startswith("zenml.")
    assert local["metadata"]["is_custom"] is False and local["body"]["integration"] == "built-in"
    ws = default_workspace(client)["id"]
    scoped = client.get(f"/api/v1/flavors?scope_workspace={ws}&type=orchestrator&size=200").json
    assert scoped["total"] == page["total"]


def test_custom_flavor_lifecycle_and_builtins_are_protected(client):
    body = {
        "user": me(client)["id"], "name": "my_orch", "type": "orchestrator", "config_schema": {"properties": {}},
        "source": "my_pkg.flavors.MyOrchestratorFlavor", "integration": "custom",
    }
    created = client.post("/api/v1/flavors", json=body)
    assert created.status_code == 200 and created.json["metadata"]["is_custom"] is True
    assert client.post("/api/v1/flavors", json=body).status_code == 409
    updated = client.put(f"/api/v1/flavors/{created.json['id']}", json={"logo_url": "https://x/logo.png"})
    assert updated.json["body"]["logo_url"] == "https://x/logo.png"
    assert client.delete(f"/api/v1/flavors/{created.json['id']}").status_code == 200
    builtin = client.get("/api/v1/flavors?name=local&type=orchestrator").json["items"][0]
    assert client.delete(f"/api/v1/flavors/{builtin['id']}").status_code == 403


def test_default_stack_exists_in_each_workspace(client):
    stacks = client.get("/api/v1/stacks?name=default&hydrate=true").json["items"]
    assert len(stacks) == 1
    components = stacks[0]["metadata"]["components"]
    assert {t: [c["name"] for c in cs] for t, cs in components.items()} == {
        "artifact_store": ["default"], "orchestrator": ["default"]
    }
    assert components["orchestrator"][0]["body"]["flavor"] == "local"
    team = client.post("/api/v1/workspaces", json={"name": "team"}).json
    theirs = client.get(f"/api/v1/workspaces/{team['id']}/stacks").json["items"]
    assert [s["name"] for s in theirs] == ["default"]
    stats = client.get("/api/v1/workspaces/team/statistics").json
    assert stats["stacks"] == 1 and stats["components"] == 2


def test_components_and_stacks_lifecycle(client):
    orchestrator = register_component(client, "orch2")
    assert orchestrator.status_code == 200, orchestrator.json
    assert orchestrator.json["body"]["user"]["name"] == "default"
    assert orchestrator.json["metadata"]["workspace"]["name"] == "default"
    store = register_component(client, "store2", "artifact_store", "local", {"path": "/tmp/store2"})
    assert store.status_code == 200
    duplicate = register_component(client, "orch2")
    assert duplicate.status_code == 409 and duplicate.json["detail"][0] == "StackComponentExistsError"
    # same name, other type: fine
    assert register_component(client, "orch2", "artifact_store", "local").status_code == 200

    stack = register_stack(client, "mine", {"orchestrator": [orchestrator.json["id"]], "artifact_store": [store.json["id"]]})
    assert stack.status_code == 200, stack.json
    assert register_stack(client, "mine", {"orchestrator": [orchestrator.json["id"]], "artifact_store": [store.json["id"]]}).status_code == 409
    in_stack = client.get(f"/api/v1/components?stack_id={stack.json['id']}").json
    assert sorted(c["name"] for c in in_stack["items"]) == ["orch2", "store2"]
    with_component = client.get(f"/api/v1/stacks?component_id={store.json['id']}").json
    assert [s["name"] for s in with_component["items"]] == ["mine"]

    refused = client.delete(f"/api/v1/components/{store.json['id']}")
    assert refused.status_code == 403 and "part of 1 stacks" in refused.json["detail"][1]

    renamed = client.put(f"/api/v1/stacks/{stack.json['id']}", json={"name": "ours", "description": "d"})
    assert renamed.json["name"] == "ours" and renamed.json["metadata"]["description"] == "d"
    updated = client.put(f"/api/v1/components/{store.json['id']}", json={"configuration": {"path": "/tmp/other"}})
    assert updated.json["metadata"]["configuration"] == {"path": "/tmp/other"}

    assert client.delete(f"/api/v1/stacks/{stack.json['id']}").status_code == 200
    assert client.delete(f"/api/v1/components/{store.json['id']}").status_code == 200
    assert client.get(f"/api/v1/components/{store.json['id']}").status_code == 404


def test_default_stack_and_components_are_protected(client):
    stack = client.get("/api/v1/stacks?name=default").json["items"][0]
    assert client.delete(f"/api/v1/stacks/{stack['id']}").json["detail"] == [
        "IllegalOperationError", "The default stack cannot be deleted."
    ]
    assert client.put(f"/api/v1/stacks/{stack['id']}", json={"name": "x"}).status_code == 403
    orchestrator = client.get("/api/v1/components?name=default&type=orchestrator").json["items"][0]
    assert client.delete(f"/api/v1/components/{orchestrator['id']}").status_code == 403
    assert client.put(f"/api/v1/components/{orchestrator['id']}", json={"name": "y"}).status_code == 403


def test_bad_component_and_stack_requests(client):
    unknown_flavor = register_component(client, "x", flavor="no_such_flavor")
    assert unknown_flavor.status_code == 404
    bad_type = register_component(client, "x", type_="not_a_type")
    assert bad_type.status_code == 422
    orchestrator = register_component(client, "lonely").json
    no_store = register_stack(client, "partial", {"orchestrator": [orchestrator["id"]]})
    assert no_store.status_code == 400
    wrong_slot = register_stack(client, "wrong", {"orchestrator": [orchestrator["id"]], "artifact_store": [orchestrator["id"]]})
    assert wrong_slot.status_code == 400
    missing = register_stack(client, "ghost", {"orchestrator": ["00000000-0000-0000-0000-000000000000"], "artifact_store": []})
    assert missing.status_code == 404
    other_user = register_component(client, "theirs", user="00000000-0000-0000-0000-000000000000")
    assert other_user.status_code == 403
    ws = default_workspace(client)
    team = client.post("/api/v1/workspaces", json={"name": "elsewhere"}).json
    mismatch = client.post(
        f"/api/v1/workspaces/{team['id']}/components",
        json={"user": me(client)["id"], "workspace": ws["id"], "name": "m", "type": "orchestrator", "flavor": "local", "configuration": {}},
    )
    assert mismatch.status_code == 403


def test_required_flavor_configuration_is_checked(client):
    # the s3 artifact store needs a path
    response = register_component(client, "s3store", "artifact_store", "s3", {})
    assert response.status_code == 400 and "path" in response.json["detail"][1]
    assert register_component(client, "s3store", "artifact_store", "s3", {"path": "s3://bucket"}).status_code == 200


def test_component_types(client):
    types = client.get("/api/v1/component-types").json
    assert "orchestrator" in types and "artifact_store" in types and len(types) == 12


def test_code_repositories(client):
    ws = default_workspace(client)
    body = {
        "user": me(client)["id"], "workspace": ws["id"], "name": "repo", "config": {"owner": "o", "repository": "r"},
        "source": {"module": "zenml.integrations.github.code_repositories.github_code_repository", "attribute": "GitHubCodeRepository", "type": "internal"},
    }
    created = client.post(f"/api/v1/workspaces/{ws['id']}/code_repositories", json=body)
    assert created.status_code == 200, created.json
    assert created.json["body"]["source"]["attribute"] == "GitHubCodeRepository"
    listed = client.get("/api/v1/code_repositories?hydrate=true").json["items"]
    assert [r["metadata"]["config"] for r in listed] == [{"owner": "o", "repository": "r"}]
    updated = client.put(f"/api/v1/code_repositories/{created.json['id']}", json={"description": "ours"})
    assert updated.json["metadata"]["description"] == "ours"
    assert client.delete(f"/api/v1/code_repositories/{created.json['id']}").status_code == 200


def test_deleting_a_workspace_removes_its_stacks(client):
    team = client.post("/api/v1/workspaces", json={"name": "gone"}).json
    assert client.get(f"/api/v1/workspaces/{team['id']}/components").json["total"] == 2
    assert client.delete(f"/api/v1/workspaces/{team['id']}").status_code == 200
    assert client.get(f"/api/v1/stacks?workspace_id={team['id']}").json["total"] == 0
