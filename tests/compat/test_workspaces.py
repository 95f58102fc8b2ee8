"""The default workspace."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.compat


def test_default_workspace(zenml_client):
    out = zenml_client.run(
        """
        from zenml.client import Client

        client = Client()
        active = client.active_workspace
        fetched = client.get_workspace("default")
        result["active"] = {"name": active.name, "id": str(active.id)}
        result["fetched"] = {"name": fetched.name, "id": str(fetched.id)}
        result["listed"] = [ws.name for ws in client.list_workspaces().items]
        """
    )
    assert out["active"]["name"] == "default"
    assert out["fetched"] == out["active"]
    assert "default" in out["listed"]
