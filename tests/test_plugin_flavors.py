"""Plugin flavors: the event sources and actions a zenml==0.66.0 server knows."""

from __future__ import annotations

import pytest

from tests.test_openapi import assert_fits

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

WEBHOOKS = "/api/v1/plugin-flavors?type=event_source&subtype=webhook"


def test_list_as_the_registry_does(client):
    page = client.get(WEBHOOKS).json
    assert_fits("Page_BasePluginFlavorResponse_", page)
    assert [f["name"] for f in page["items"]] == ["bitbucket", "github"]
    assert all(f["metadata"] is None for f in page["items"])
    hydrated = client.get(WEBHOOKS + "&hydrate=true").json
    github = hydrated["items"][1]
    assert set(github["metadata"]) == {"source_config_schema", "filter_config_schema"}
    assert "webhook_secret" in github["metadata"]["filter_config_schema"]["properties"]
    assert github["metadata"]["source_config_schema"]["properties"]["event_type"]

    actions = client.get("/api/v1/plugin-flavors?type=action&subtype=pipeline_run").json
    assert [(f["name"], f["type"], f["subtype"]) for f in actions["items"]] == [("builtin", "action", "pipeline_run")]
    # a combination no plugin has is an empty page, not an error
    assert client.get("/api/v1/plugin-flavors?type=action&subtype=webhook").json["total"] == 0


def test_pages(client):
    second = client.get(WEBHOOKS + "&size=1&page=2").json
    assert (second["total"], second["total_pages"], [f["name"] for f in second["items"]]) == (2, 2, ["github"])
    past = client.get(WEBHOOKS + "&size=1&page=3")
    assert past.status_code == 400 and "Invalid page 3" in past.json["detail"][1]
    for bad in ("&size=0", "&page=0", "&size=x"):
        assert client.get(WEBHOOKS + bad).status_code == 422


def test_get_one(client):
    github = client.get("/api/v1/plugin-flavors/github?type=event_source&subtype=webhook")
    assert github.status_code == 200
    assert_fits("BasePluginFlavorResponse", github.json)
    assert github.json["metadata"]["source_config_schema"]["title"]
    action = client.get("/api/v1/plugin-flavors/builtin?type=action&subtype=pipeline_run").json
    assert "template_id" in action["metadata"]["config_schema"]["properties"]

    missing = client.get("/api/v1/plugin-flavors/gitlab?type=event_source&subtype=webhook")
    assert missing.status_code == 404
    assert missing.json["detail"] == [
        "KeyError", "No flavor class found for flavor name gitlab at type event_source and subtype webhook."
    ]
    assert client.get("/api/v1/plugin-flavors/github").status_code == 422
    assert client.get("/api/v1/plugin-flavors/github?type=trigger&subtype=webhook").status_code == 422
