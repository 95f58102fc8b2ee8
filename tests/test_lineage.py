"""`GET /runs/{id}/graph`: the lineage graph of a run, as ZenML 0.66.0's
`LineageGraph` draws it (the DAG on the dashboard's run page). Runs are
recorded with the client's own request shapes (tests/test_runs.py); that the
graph equals the one the real client computes is checked against a real run
in tests/browser/test_dashboard.py."""

from __future__ import annotations

import pytest

from tests.test_openapi import assert_fits
from tests.test_runs import REQUESTS, Recorder


@pytest.fixture
def rec(client) -> Recorder:
    return Recorder(client)


def graph_of(client, run) -> dict:
    response = client.get(f"/api/v1/runs/{run['id']}/graph")
    assert response.status_code == 200, response.json
    assert_fits("LineageGraph", response.json)
    return response.json


def nodes_by_id(graph) -> dict:
    return {node["id"]: node for node in graph["nodes"]}


def edges(graph) -> list[tuple[str, str]]:
    return [(e["source"], e["target"]) for e in graph["edges"]]


def add_metadata(rec, resource_type, resource_id, values, types) -> None:
    body = rec.body("run_metadata", resource_type=resource_type, resource_id=resource_id, values=values, types=types)
    rec.ok(rec.client.post(f"/api/v1/workspaces/{rec.ws}/run-metadata", json=body))


def two_step_run(rec, steps=("load", "train")):
    """`load` writes `output`; `train` reads it as `data`."""
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"], steps=steps)
    run, _ = rec.run(deployment, pipeline["id"])
    load = rec.step(run, deployment, "load")
    output = rec.artifact_version()
    rec.finish(load, {"output": output["id"]})
    train = rec.step(run, deployment, "train", inputs={"data": output["id"]}, parent_step_ids=[load["id"]])
    rec.finish(train)
    return pipeline, deployment, run, load, output, train


def test_a_two_step_run_draws_steps_artifacts_and_edges(rec, client):
    _, _, run, load, output, train = two_step_run(rec)
    add_metadata(rec, "pipeline_run", run["id"], {"orchestrator_url": "http://x", "epochs": 3},
                 {"orchestrator_url": "Uri", "epochs": "int"})
    add_metadata(rec, "step_run", train["id"], {"accuracy": 0.5, "params": {"lr": 0.1}},
                 {"accuracy": "float", "params": "dict"})
    add_metadata(rec, "artifact_version", output["id"], {"length": 3, "ok": True}, {"length": "int", "ok": "bool"})

    graph = graph_of(client, run)

    step_load, step_train, artifact = f"step_{load['id']}", f"step_{train['id']}", f"artifact_{output['id']}"
    assert [n["id"] for n in graph["nodes"]] == [step_load, artifact, step_train]
    # the artifact links the steps, so `train`'s parent adds no direct edge
    assert edges(graph) == [(step_load, artifact), (artifact, step_train)]
    assert graph["edges"][0]["id"] == f"{step_load}_{artifact}"
    assert graph["root_step_id"] == step_load
    assert graph["run_metadata"] == [["orchestrator_url", "http://x", "Uri"], ["epochs", "3", "int"]]

    nodes = nodes_by_id(graph)
    trained = nodes[step_train]
    assert trained["type"] == "step"
    assert trained["data"]["execution_id"] == train["id"]
    assert trained["data"]["name"] == trained["data"]["entrypoint_name"] == "train"
    assert trained["data"]["status"] == "completed"
    assert trained["data"]["inputs"] == {"data": output["body"]["uri"]}
    assert trained["data"]["outputs"] == {}
    assert trained["data"]["parameters"] == {}
    # Python's str() of each value, as ZenML shows metadata
    assert trained["data"]["metadata"] == [["accuracy", "0.5", "float"], ["params", "{'lr': 0.1}", "dict"]]
    # the step configuration without inputs, outputs, parameters and empty values
    assert trained["data"]["configuration"] == {
        "name": "train", "caching_parameters": REQUESTS["deployment"]["step_configurations"]["load"]["config"]["caching_parameters"],
    }
    assert nodes[step_load]["data"]["outputs"] == {"output": output["body"]["uri"]}

    made = nodes[artifact]
    assert made["type"] == "artifact"
    assert made["data"] == {
        "execution_id": output["id"],
        "name": "output",
        "status": "created",
        "is_cached": False,
        "artifact_type": "BaseArtifact",
        "artifact_data_type": "builtins.list",
        "parent_step_id": step_load,
        "producer_step_id": load["id"],
        "uri": output["body"]["uri"],
        "metadata": [["length", "3", "int"], ["ok", "True", "bool"]],
    }


def test_an_input_from_another_run_is_an_external_artifact(rec, client):
    pipeline, deployment, _, load, output, _ = two_step_run(rec)
    second, _ = rec.run(deployment, pipeline["id"])
    train = rec.finish(rec.step(second, deployment, "train", inputs={"data": output["id"]}))

    graph = graph_of(client, second)

    external = nodes_by_id(graph)[f"artifact_{output['id']}"]["data"]
    assert external["status"] == "external" and external["is_cached"] is False
    assert external["name"] == "data"
    # ZenML names the producer here without the `step_` prefix
    assert external["parent_step_id"] == external["producer_step_id"] == load["id"]
    assert edges(graph) == [(f"artifact_{output['id']}", f"step_{train['id']}")]


def test_a_manually_loaded_artifact_of_no_producer_says_none(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"], steps=("train",))
    run, _ = rec.run(deployment, pipeline["id"])
    loose = rec.artifact_version("uploaded")
    rec.finish(rec.step(run, deployment, "train", inputs={"data": loose["id"]}))

    external = nodes_by_id(graph_of(client, run))[f"artifact_{loose['id']}"]["data"]
    assert external["status"] == "external"
    assert external["parent_step_id"] == external["producer_step_id"] == "None"


def test_after_parents_without_an_artifact_get_a_direct_edge(rec, client):
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"], steps=("prepare", "report"))
    run, _ = rec.run(deployment, pipeline["id"])
    prepare = rec.finish(rec.step(run, deployment, "prepare"))
    report = rec.step(run, deployment, "report", parent_step_ids=[prepare["id"]])

    graph = graph_of(client, run)

    assert edges(graph) == [(f"step_{prepare['id']}", f"step_{report['id']}")]
    statuses = {n["data"]["name"]: n["data"]["status"] for n in graph["nodes"]}
    assert statuses == {"prepare": "completed", "report": "running"}


def test_outputs_of_cached_and_unfinished_steps(rec, client):
    pipeline, deployment, _, load, output, _ = two_step_run(rec)
    second, _ = rec.run(deployment, pipeline["id"])
    rec.step(second, deployment, "load", status="cached", original_step_run_id=load["id"],
             outputs={"output": output["id"]})
    running = rec.step(second, deployment, "train")
    partial = rec.artifact_version()
    rec.ok(client.put(f"/api/v1/steps/{running['id']}", json={"outputs": {"model": partial["id"]}}))

    nodes = nodes_by_id(graph_of(client, second))

    cached = nodes[f"artifact_{output['id']}"]["data"]
    assert cached["status"] == "cached" and cached["is_cached"] is True
    assert nodes[f"artifact_{partial['id']}"]["data"]["status"] == "unknown"


def test_an_empty_run_and_unknown_runs(rec, client):
    pipeline = rec.pipeline()
    run, _ = rec.run(rec.deployment(pipeline["id"]), pipeline["id"])
    assert graph_of(client, run) == {"nodes": [], "edges": [], "root_step_id": None, "run_metadata": []}

    missing = client.get("/api/v1/runs/8d78ec1c-a56d-40e3-b3aa-5e07b2610d11/graph")
    assert missing.status_code == 404 and missing.json["detail"][0] == "KeyError"
    assert client.get("/api/v1/runs/not-a-uuid/graph").status_code == 422
    anonymous = client.http.get(f"/api/v1/runs/{run['id']}/graph")
    assert anonymous.status_code == 401


def test_the_graph_does_not_grow_in_queries(rec, client, count_queries):
    steps = [f"s{i}" for i in range(6)]
    pipeline = rec.pipeline()
    deployment = rec.deployment(pipeline["id"], steps=steps)
    counts = {}
    for size in (1, 6):
        run, _ = rec.run(deployment, pipeline["id"])
        previous = None
        for name in steps[:size]:
            inputs = {"data": previous["id"]} if previous else {}
            step = rec.step(run, deployment, name, inputs=inputs)
            previous = rec.artifact_version(f"out-{name}")
            rec.finish(step, {"output": previous["id"]})
        with count_queries() as counted:
            graph = graph_of(client, run)
        assert len(graph["nodes"]) == 2 * size
        counts[size] = counted.n
    assert counts[6] == counts[1], counts
