"""Pipeline runs, steps, their artifacts, tags and logs with the stock client.

One scenario runs a two-step pipeline twice on the default stack (the local
orchestrator; the client's local artifact store lives under its config dir),
then reads what the runs left behind; each test below checks one part of it.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat

RUNS = """
from typing import Annotated

from zenml import log_artifact_metadata, pipeline, step
from zenml.artifacts.artifact_config import ArtifactConfig
from zenml.client import Client
from zenml.models import PipelineRunUpdate

p = params


@step
def load_data(seed: int) -> Annotated[dict, "dataset"]:
    print(f"loading {p['log_marker']} seed={seed}")
    log_artifact_metadata({"rows": 3, "origin": "compat"})
    return {"x": [seed, seed + 1, seed + 2]}


@step
def train(dataset: dict) -> Annotated[float, ArtifactConfig(run_metadata={"kind": "mean"})]:
    print(f"training {p['log_marker']}")
    return sum(dataset["x"]) / len(dataset["x"])


@pipeline(name=p["pipeline"], enable_cache=True)
def records(seed: int):
    train(load_data(seed))


@step
def say_nothing() -> None:
    print("nobody keeps this")


@pipeline(name=p["quiet_pipeline"], enable_step_logs=False, enable_cache=False)
def quiet():
    say_nothing()


def steps_of(run):
    return {name: str(s.status.value) for name, s in run.steps.items()}


def page_of(runs):
    return {"total": runs.total, "total_pages": runs.total_pages, "index": runs.index,
            "names": [r.name for r in runs.items]}


# Steps run in this process and load their source by importing this file
# again (as a module of its own name): only the main script runs pipelines.
if __name__ == "__main__":
    client = Client()
    records.with_options(run_name=p["first"])(seed=p["seed"])
    records.with_options(run_name=p["second"])(seed=p["seed"])

    first = client.get_pipeline_run(p["first"])
    second = client.get_pipeline_run(p["second"])
    result["first"] = {"status": str(first.status.value), "steps": steps_of(first)}
    result["second"] = {"status": str(second.status.value), "steps": steps_of(second)}
    result["by_id"] = client.get_pipeline_run(first.id).name

    train_step = first.steps["train"]
    data_step = first.steps["load_data"]
    result["output_keys"] = {"train": sorted(train_step.outputs), "load_data": sorted(data_step.outputs)}
    result["output"] = train_step.outputs["output"].load()
    result["output_via_property"] = train_step.output.load()
    result["dataset"] = data_step.outputs["dataset"].load()
    dataset = client.get_artifact_version(data_step.outputs["dataset"].id)
    result["metadata"] = {k: v.value for k, v in dataset.run_metadata.items()}
    mean = client.get_artifact_version(train_step.outputs["output"].id)
    result["config_metadata"] = {k: v.value for k, v in mean.run_metadata.items()}
    # a cached step points at the artifact the first run produced
    result["cached_output_is_first"] = second.steps["train"].output.id == train_step.output.id
    result["input_of_train"] = train_step.inputs["dataset"].id == data_step.output.id

    # list, filter, sort and page as the dashboard and the CLI do
    mine = "contains:" + p["pipeline"]
    since = "gte:2024-01-01 00:00:00"
    result["lists"] = {
        "all_mine": page_of(client.list_pipeline_runs(name=mine)),
        "desc_page_2": page_of(client.list_pipeline_runs(
            name=mine, sort_by="desc:created", size=1, page=2, created=since)),
        "desc_page_1": page_of(client.list_pipeline_runs(name=mine, sort_by="desc:created", size=1, page=1)),
        "asc_page_1": page_of(client.list_pipeline_runs(name=mine, sort_by="asc:created", size=1, page=1)),
        "asc_by_name": page_of(client.list_pipeline_runs(name=mine, sort_by="asc:name")),
        "future": page_of(client.list_pipeline_runs(name=mine, created="gte:2999-01-01 00:00:00")),
        "by_pipeline": page_of(client.list_pipeline_runs(pipeline_name=p["pipeline"], sort_by="asc:created")),
        "completed": page_of(client.list_pipeline_runs(name=mine, status="completed")),
        "other_name": page_of(client.list_pipeline_runs(name="contains:no-such-run-" + p["pipeline"])),
    }

    # tags: 0.66.0's client has no method for them; the store's update takes add/remove lists
    result["untagged"] = sorted(t.name for t in first.tags)
    client.zen_store.update_run(first.id, PipelineRunUpdate(add_tags=[p["shared_tag"]]))
    client.zen_store.update_run(second.id, PipelineRunUpdate(add_tags=[p["tag"], p["shared_tag"]]))
    result["after_add"] = sorted(t.name for t in client.get_pipeline_run(second.id).tags)
    result["tagged"] = page_of(client.list_pipeline_runs(tag=p["tag"]))
    client.zen_store.update_run(second.id, PipelineRunUpdate(remove_tags=[p["tag"]]))
    result["after_remove"] = sorted(t.name for t in client.get_pipeline_run(second.id).tags)
    result["tagged_after_remove"] = page_of(client.list_pipeline_runs(tag=p["tag"]))
    result["shared_tagged"] = page_of(client.list_pipeline_runs(tag=p["shared_tag"], sort_by="asc:created"))
    result["first_tags"] = sorted(t.name for t in client.get_pipeline_run(first.id).tags)

    # step logs: the client has no method for them, the REST store has the route
    result["logs"] = {name: client.zen_store.get(f"/steps/{s.id}/logs") for name, s in first.steps.items()}
    result["logs_uri_set"] = {name: s.logs is not None for name, s in first.steps.items()}
    quiet_step = quiet().steps["say_nothing"]
    result["quiet_logs"] = raises(client.zen_store.get, f"/steps/{quiet_step.id}/logs")
"""


@pytest.fixture(scope="module")
def runs(zenml_client):
    """Two runs of one cached pipeline, and what the client reads back."""
    prefix = f"records-{uuid.uuid4().hex[:8]}"
    names = {
        "pipeline": prefix,
        "first": f"{prefix}-run-a",
        "second": f"{prefix}-run-b",
        "seed": 4,
        "log_marker": f"marker-{uuid.uuid4().hex[:8]}",
        "tag": f"{prefix}-added",
        "shared_tag": f"{prefix}-shared",
        "quiet_pipeline": f"quiet-{uuid.uuid4().hex[:8]}",
    }
    return names, zenml_client.run(RUNS, timeout=300, **names)


def test_a_two_step_pipeline_runs_to_completed(runs):
    names, out = runs
    assert out["first"] == {"status": "completed", "steps": {"load_data": "completed", "train": "completed"}}, out
    assert out["by_id"] == names["first"]


def test_outputs_load_back_as_the_steps_returned_them(runs):
    _, out = runs
    assert out["output_keys"] == {"train": ["output"], "load_data": ["dataset"]}
    assert out["dataset"] == {"x": [4, 5, 6]}
    assert out["output"] == 5.0
    assert out["output_via_property"] == 5.0
    assert out["input_of_train"] is True


def test_artifact_metadata_logged_in_a_step_reads_back(runs):
    _, out = runs
    assert out["metadata"]["rows"] == 3, out["metadata"]
    assert out["metadata"]["origin"] == "compat", out["metadata"]
    assert out["config_metadata"]["kind"] == "mean", out["config_metadata"]  # from ArtifactConfig


def test_second_run_of_a_cached_pipeline_is_cached(runs):
    _, out = runs
    assert out["second"] == {"status": "completed", "steps": {"load_data": "cached", "train": "cached"}}, out
    assert out["cached_output_is_first"] is True


def test_list_filter_sort_and_page(runs):
    names, out = runs
    lists = out["lists"]
    first, second = names["first"], names["second"]
    assert lists["all_mine"]["total"] == 2
    assert lists["all_mine"]["names"] == [second, first]  # the client sorts by desc:created
    assert lists["desc_page_2"] == {"total": 2, "total_pages": 2, "index": 2, "names": [first]}
    assert lists["desc_page_1"] == {"total": 2, "total_pages": 2, "index": 1, "names": [second]}
    assert lists["asc_page_1"] == {"total": 2, "total_pages": 2, "index": 1, "names": [first]}
    assert lists["asc_by_name"]["names"] == [first, second]
    assert lists["future"]["total"] == 0 and lists["future"]["names"] == []
    assert lists["by_pipeline"]["names"] == [first, second]
    assert lists["completed"]["total"] == 2
    assert lists["other_name"]["total"] == 0


def test_tags_added_to_and_removed_from_a_run(runs):
    names, out = runs
    assert out["untagged"] == []
    assert out["after_add"] == sorted([names["tag"], names["shared_tag"]])
    assert out["after_remove"] == [names["shared_tag"]]
    assert out["first_tags"] == [names["shared_tag"]]


def test_runs_filtered_by_tag(runs):
    # ZenML 0.66.0's own server answers 500 to `tag=`; the client's query is what counts
    names, out = runs
    assert out["tagged"]["names"] == [names["second"]] and out["tagged"]["total"] == 1, out["tagged"]
    assert out["tagged_after_remove"]["total"] == 0, out["tagged_after_remove"]
    assert out["shared_tagged"]["names"] == [names["first"], names["second"]], out["shared_tagged"]


def test_step_logs_hold_what_the_step_printed(runs):
    names, out = runs
    assert out["logs_uri_set"] == {"load_data": True, "train": True}
    assert f"loading {names['log_marker']} seed=4" in out["logs"]["load_data"], out["logs"]
    assert f"training {names['log_marker']}" in out["logs"]["train"], out["logs"]


def test_a_step_without_logs_answers_not_found(runs):
    # ZenML answers 404 "No logs available for this step" (a bare string
    # detail), which the client raises as a KeyError
    _, out = runs
    assert out["quiet_logs"] is not None, out
    assert out["quiet_logs"]["type"] == "builtins.KeyError", out["quiet_logs"]
    assert "No logs available for this step" in out["quiet_logs"]["message"], out["quiet_logs"]
