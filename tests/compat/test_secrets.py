"""Secrets with the stock client: values for their owner, never in lists."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat

LIFECYCLE = """
from zenml.client import Client

client = Client()
name = params["name"]

created = client.create_secret(name, {"username": "alice", "password": "pw-1"})
result["created"] = {"name": created.name, "scope": str(created.scope.value), "values": created.secret_values}
result["duplicate"] = raises(client.create_secret, name, {"other": "x"})

fetched = client.get_secret(name, allow_partial_name_match=False)
result["fetched"] = {"id_kept": fetched.id == created.id, "values": fetched.secret_values}

listed = [s for s in client.list_secrets(name=name).items]
result["listed"] = [{"name": s.name, "values": s.secret_values} for s in listed]

updated = client.update_secret(
    name, add_or_update_values={"password": "pw-2", "token": "t-1"}, remove_values=["username"]
)
result["updated"] = updated.secret_values
result["fetched_after_update"] = client.get_secret(created.id).secret_values
result["remove_missing_key"] = raises(client.update_secret, name, remove_values=["no-such-key"])

renamed = client.update_secret(name, new_name=params["renamed"])
result["renamed"] = {"name": renamed.name, "values": renamed.secret_values}

client.delete_secret(params["renamed"])
result["get_deleted"] = raises(client.get_secret, params["renamed"], allow_partial_name_match=False)
result["get_deleted_by_id"] = raises(client.get_secret, created.id)
result["listed_after_delete"] = client.list_secrets(name=params["renamed"]).total
"""


@pytest.fixture(scope="module")
def lifecycle(zenml_client):
    """One scenario walks a secret through its life; the tests below check one part each."""
    suffix = uuid.uuid4().hex[:8]
    return zenml_client.run(LIFECYCLE, name=f"secret-{suffix}", renamed=f"secret-renamed-{suffix}")


def _error_type(info):
    return info["type"] if info else None


def test_create_and_get_returns_the_values_to_the_owner(lifecycle):
    assert lifecycle["created"]["scope"] == "workspace"
    assert lifecycle["created"]["values"] == {"username": "alice", "password": "pw-1"}
    assert lifecycle["fetched"] == {"id_kept": True, "values": {"username": "alice", "password": "pw-1"}}


def test_list_carries_no_values(lifecycle):
    assert len(lifecycle["listed"]) == 1, lifecycle["listed"]
    assert lifecycle["listed"][0]["values"] == {}, lifecycle["listed"]


def test_duplicate_name_raises_entity_exists(lifecycle):
    # ZenML 0.66.0's server raises EntityExistsError (not SecretExistsError) here.
    assert _error_type(lifecycle["duplicate"]) == "zenml.exceptions.EntityExistsError", lifecycle


def test_update_merges_and_removes_values(lifecycle):
    expected = {"password": "pw-2", "token": "t-1"}
    assert lifecycle["updated"] == expected
    assert lifecycle["fetched_after_update"] == expected
    # the client checks the key against the values it read: nothing is sent
    assert _error_type(lifecycle["remove_missing_key"]) == "builtins.KeyError", lifecycle
    assert lifecycle["renamed"]["values"] == expected


def test_delete(lifecycle):
    assert _error_type(lifecycle["get_deleted"]) == "builtins.KeyError", lifecycle
    assert _error_type(lifecycle["get_deleted_by_id"]) == "builtins.KeyError", lifecycle
    assert lifecycle["listed_after_delete"] == 0
