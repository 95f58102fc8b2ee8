"""Flavors, stack components and stacks with the stock client and CLI."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def server(zenyard_factory):
    """One server for this module: the stack tests change the client's active stack."""
    return zenyard_factory(name="stacks")


@pytest.fixture(scope="module")
def client(client_factory, server):
    client = client_factory(server, name="stacks-client")
    client.connect()
    return client


def _error_type(info):
    return info["type"] if info else None


@pytest.fixture(scope="module")
def fresh(client):
    """What a client sees on a fresh server, before the tests below change anything."""
    return client.run(
        """
        from zenml.client import Client
        from zenml.enums import StackComponentType as T

        client = Client()
        model = client.active_stack_model
        result["model"] = {"name": model.name, "types": sorted(str(t.value) for t in model.components)}
        # The Stack object imports each component's flavor class from its `source`.
        stack = client.active_stack
        result["stack"] = {
            "name": stack.name,
            "orchestrator": type(stack.orchestrator).__name__,
            "artifact_store": type(stack.artifact_store).__name__,
            "artifact_store_path": stack.artifact_store.path,
        }

        orchestrators = client.get_flavors_by_type(T.ORCHESTRATOR)
        result["orchestrators"] = sorted(f.name for f in orchestrators.items)
        result["orchestrator_types"] = sorted({str(f.type.value) for f in orchestrators.items})
        result["orchestrators_total"] = orchestrators.total
        local = client.get_flavor_by_name_and_type("local", T.ARTIFACT_STORE)
        result["local_artifact_store"] = {"source": local.source, "integration": local.integration}
        result["missing_flavor"] = raises(client.get_flavor_by_name_and_type, "no-such-flavor", T.ORCHESTRATOR)
        """
    )


def test_active_stack_on_a_fresh_server_is_the_default_stack(fresh):
    assert fresh["model"] == {"name": "default", "types": ["artifact_store", "orchestrator"]}
    assert fresh["stack"]["name"] == "default"
    assert fresh["stack"]["orchestrator"] == "LocalOrchestrator"
    assert fresh["stack"]["artifact_store"] == "LocalArtifactStore"
    assert fresh["stack"]["artifact_store_path"], fresh


def test_flavors_by_type(fresh):
    assert {"local", "local_docker"} <= set(fresh["orchestrators"]), fresh
    assert fresh["orchestrator_types"] == ["orchestrator"]
    assert fresh["orchestrators_total"] >= len(fresh["orchestrators"]) > 0
    assert fresh["local_artifact_store"] == {
        "source": "zenml.artifact_stores.local_artifact_store.LocalArtifactStoreFlavor",
        "integration": "built-in",
    }
    assert _error_type(fresh["missing_flavor"]) == "builtins.KeyError", fresh


def test_register_and_set_a_stack_with_the_cli(client, fresh, tmp_path):
    artifact_store, stack = _name("store"), _name("cli-stack")
    client.cli("artifact-store", "register", artifact_store, "--flavor", "local", f"--path={tmp_path / 'artifacts'}")
    registered = client.cli("stack", "register", stack, "-o", "default", "-a", artifact_store)
    assert f"Stack '{stack}' successfully registered" in registered.stdout + registered.stderr, registered.stdout

    activated = client.cli("stack", "set", stack)
    assert f"Active global stack set to: '{stack}'" in activated.stdout + activated.stderr, activated.stdout

    out = client.run(
        """
        from zenml.client import Client
        from zenml.enums import StackComponentType as T

        client = Client()
        active = client.active_stack_model
        result["active"] = active.name
        result["components"] = {str(t.value): [c.name for c in cs] for t, cs in active.components.items()}
        result["path"] = client.active_stack.artifact_store.path

        client.activate_stack("default")
        client.delete_stack(params["stack"])
        client.delete_stack_component(params["artifact_store"], T.ARTIFACT_STORE)
        result["after_delete"] = raises(client.get_stack, params["stack"], allow_name_prefix_match=False)
        """,
        stack=stack,
        artifact_store=artifact_store,
    )
    assert out["active"] == stack
    assert out["components"] == {"orchestrator": ["default"], "artifact_store": [artifact_store]}
    assert out["path"] == str(tmp_path / "artifacts")
    assert _error_type(out["after_delete"]) == "builtins.KeyError", out


LIFECYCLE = """
from zenml.client import Client
from zenml.enums import StackComponentType as T

client = Client()
p = params


def components(stack):
    return {str(t.value): sorted(c.name for c in cs) for t, cs in stack.components.items()}


base = {T.ORCHESTRATOR: p["orchestrator"], T.ARTIFACT_STORE: p["store"]}
orch = client.create_stack_component(p["orchestrator"], "local", T.ORCHESTRATOR, {})
client.create_stack_component(p["store"], "local", T.ARTIFACT_STORE, {"path": p["path"]})
client.create_stack_component(p["store2"], "local", T.ARTIFACT_STORE, {"path": p["path2"]})
client.create_stack_component(p["registry"], "default", T.CONTAINER_REGISTRY, {"uri": "localhost:5000"})
result["orchestrator"] = {"name": orch.name, "flavor": orch.flavor, "type": str(orch.type.value)}
result["duplicate_component"] = raises(client.create_stack_component, p["orchestrator"], "local", T.ORCHESTRATOR, {})

stack = client.create_stack(p["stack"], base)
result["created"] = components(stack)
result["duplicate_stack"] = raises(client.create_stack, p["stack"], base)

client.activate_stack(p["stack"])
result["active_after_activate"] = client.active_stack_model.name

updated = client.update_stack(
    p["stack"], component_updates={T.CONTAINER_REGISTRY: [p["registry"]], T.ARTIFACT_STORE: [p["store2"]]}
)
result["updated"] = components(updated)
result["fetched_after_update"] = components(client.get_stack(p["stack"], allow_name_prefix_match=False))

renamed = client.update_stack(p["stack"], name=p["renamed"])
result["renamed"] = {"name": renamed.name, "same_id": renamed.id == stack.id}
result["get_old_name"] = raises(client.get_stack, p["stack"], allow_name_prefix_match=False)
result["active_after_rename"] = client.active_stack_model.name

result["delete_component_in_stack"] = raises(client.delete_stack_component, p["orchestrator"], T.ORCHESTRATOR)
result["delete_active_stack"] = raises(client.delete_stack, p["renamed"])

other = client.create_stack(p["other"], base)
result["delete_inactive_stack"] = raises(client.delete_stack, p["other"])
result["get_deleted_stack"] = raises(client.get_stack, other.id)
result["delete_deleted_stack"] = raises(client.delete_stack, p["other"])
result["get_missing_component"] = raises(
    client.get_stack_component, T.ORCHESTRATOR, "no-such-orchestrator", allow_name_prefix_match=False
)

client.activate_stack("default")
result["rename_default_component"] = raises(client.update_stack_component, "default", T.ORCHESTRATOR, name="x")
result["delete_default_component"] = raises(client.delete_stack_component, "default", T.ARTIFACT_STORE)
result["delete_default_stack"] = raises(client.zen_store.delete_stack, client.get_stack("default").id)

client.delete_stack(p["renamed"])
client.delete_stack_component(p["orchestrator"], T.ORCHESTRATOR)
result["get_deleted_component"] = raises(
    client.get_stack_component, T.ORCHESTRATOR, p["orchestrator"], allow_name_prefix_match=False
)
for name in (p["store"], p["store2"]):
    client.delete_stack_component(name, T.ARTIFACT_STORE)
client.delete_stack_component(p["registry"], T.CONTAINER_REGISTRY)
"""


@pytest.fixture(scope="module")
def lifecycle(client, fresh, tmp_path_factory):
    """One scenario walks a stack through its life; the tests below check one part each."""
    tmp = tmp_path_factory.mktemp("stack-lifecycle")
    names = {
        "orchestrator": _name("orch"), "store": _name("store"), "store2": _name("store2"),
        "registry": _name("registry"), "stack": _name("stack"), "renamed": _name("renamed"),
        "other": _name("other"), "path": str(tmp / "a"), "path2": str(tmp / "b"),
    }
    return names, client.run(LIFECYCLE, **names)


def test_register_components_and_stack(lifecycle):
    names, out = lifecycle
    assert out["orchestrator"] == {"name": names["orchestrator"], "flavor": "local", "type": "orchestrator"}
    assert out["created"] == {"orchestrator": [names["orchestrator"]], "artifact_store": [names["store"]]}
    assert out["active_after_activate"] == names["stack"]


def test_duplicate_names_raise_what_zenml_raises(lifecycle):
    # ZenML 0.66.0's server answers 409 with these subclasses of EntityExistsError.
    _, out = lifecycle
    component, stack = out["duplicate_component"], out["duplicate_stack"]
    assert _error_type(component) == "zenml.exceptions.StackComponentExistsError", component
    assert _error_type(stack) == "zenml.exceptions.StackExistsError", stack


def test_update_and_rename_a_stack(lifecycle):
    names, out = lifecycle
    expected = {
        "orchestrator": [names["orchestrator"]],
        "artifact_store": [names["store2"]],
        "container_registry": [names["registry"]],
    }
    assert out["updated"] == expected
    assert out["fetched_after_update"] == expected
    assert out["renamed"] == {"name": names["renamed"], "same_id": True}
    assert _error_type(out["get_old_name"]) == "builtins.KeyError", out
    assert out["active_after_rename"] == names["renamed"]


def test_delete_rules(lifecycle):
    _, out = lifecycle
    assert _error_type(out["delete_component_in_stack"]) == "zenml.exceptions.IllegalOperationError", out
    # The client refuses to delete its active stack before asking the server.
    assert _error_type(out["delete_active_stack"]) == "builtins.ValueError", out
    assert "active stack" in out["delete_active_stack"]["message"]
    assert out["delete_inactive_stack"] is None, out
    assert _error_type(out["get_deleted_stack"]) == "builtins.KeyError", out
    assert _error_type(out["delete_deleted_stack"]) == "builtins.KeyError", out
    assert _error_type(out["get_missing_component"]) == "builtins.KeyError", out
    assert _error_type(out["get_deleted_component"]) == "builtins.KeyError", out


def test_default_stack_and_components_are_protected(lifecycle):
    _, out = lifecycle
    assert _error_type(out["rename_default_component"]) == "zenml.exceptions.IllegalOperationError", out
    assert _error_type(out["delete_default_component"]) == "zenml.exceptions.IllegalOperationError", out
    assert _error_type(out["delete_default_stack"]) == "zenml.exceptions.IllegalOperationError", out
