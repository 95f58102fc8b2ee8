"""Models and model versions (the Model Control Plane) with the stock client.

One scenario: a model with two versions walked through its stages, then a
pipeline whose runs create, name and link model versions; each test below
checks one part of the result.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.compat

MODELS = """
from typing import Annotated

from zenml import Model, log_model_metadata, pipeline, step
from zenml.artifacts.artifact_config import ArtifactConfig
from zenml.client import Client
from zenml.enums import ModelStages

p = params


@step
def make_data() -> Annotated[int, "dataset"]:
    return 3


@step
def train(x: int) -> Annotated[int, ArtifactConfig(name="weights", is_model_artifact=True)]:
    log_model_metadata(metadata={"accuracy": 0.9})
    return x * 2


@pipeline(name=p["pipeline"], model=Model(name=p["piped"], version="v1"), enable_cache=False)
def training():
    train(make_data())


# no version: each run creates the next numbered version
@pipeline(name=p["pipeline"] + "-again", model=Model(name=p["piped"]), enable_cache=False)
def retraining():
    train(make_data())


def stages(client, name):
    return {v.number: v.stage for v in client.list_model_versions(name).items}


def control_plane(client, name):
    model = client.create_model(name=name, tags=["a"], description="d")
    v1 = client.create_model_version(model.id, description="first")
    v2 = client.create_model_version(name, name="two")
    result["numbers"] = [v1.number, v2.number, v1.name, v2.name]
    result["latest"] = client.get_model_version(name).name
    result["by_number"] = client.get_model_version(name, 2).name
    result["by_name"] = client.get_model_version(name, "two").number
    result["no_production_yet"] = raises(client.get_model_version, name, ModelStages.PRODUCTION)

    v1.set_stage("production")
    result["stages_after_v1"] = stages(client, name)
    result["refused"] = raises(v2.set_stage, "production")
    result["stages_after_refusal"] = stages(client, name)
    v2.set_stage(ModelStages.PRODUCTION, force=True)
    result["stages_after_force"] = stages(client, name)

    result["production_by_stage"] = client.get_model_version(name, ModelStages.PRODUCTION).number
    result["production_by_string"] = client.get_model_version(name, "production").number
    production = Model(name=name, version="production")
    result["production_model"] = {"number": production.number, "id": str(production.id), "v2": str(v2.id)}
    result["archived"] = [x.number for x in client.list_model_versions(name, stage="archived").items]

    updated = client.update_model_version(name, "two", description="new", add_tags=["x"])
    result["updated"] = [updated.description, sorted(t.name for t in updated.tags)]
    result["model_tags"] = sorted(t.name for t in client.get_model(name).tags)
    result["links"] = client.list_model_version_artifact_links(model_version_id=v2.id).total
    result["run_links"] = client.list_model_version_pipeline_run_links(model_version_id=v2.id).total

    client.delete_model_version(v1.id)
    result["left"] = [x.number for x in client.list_model_versions(name).items]
    client.delete_model(name)
    result["gone"] = raises(client.get_model, name)


def from_pipeline(client, name):
    first = training()
    retraining()
    v = client.get_model_version(name, "v1")
    result["pipe_versions"] = [(x.name, x.number) for x in client.list_model_versions(name).items]
    result["pipe_data"] = sorted(v.data_artifact_ids)
    result["pipe_model_artifacts"] = sorted(v.model_artifact_ids)
    result["pipe_runs"] = sorted(v.pipeline_run_ids)
    result["pipe_first_run"] = str(first.id)
    result["pipe_run_ids"] = [str(i) for i in v.pipeline_run_ids.values()]
    result["pipe_weights"] = v.get_model_artifact("weights").load()
    result["pipe_dataset"] = v.get_data_artifact("dataset").load()
    result["pipe_metadata"] = {k: m.value for k, m in v.run_metadata.items()}
    result["pipe_model_links"] = client.list_model_version_artifact_links(
        model_version_id=v.id, only_model_artifacts=True).total
    result["pipe_all_links"] = client.list_model_version_artifact_links(model_version_id=v.id).total
    result["pipe_run_links"] = client.list_model_version_pipeline_run_links(model_version_id=v.id).total
    result["pipe_latest"] = Model(name=name, version="latest").number
    again = client.get_model_version(name, 2)
    result["pipe_again_runs"] = sorted(again.pipeline_run_ids)


# the local orchestrator imports this file again to load the steps
if __name__ == "__main__":
    client = Client()
    control_plane(client, p["model"])
    from_pipeline(client, p["piped"])
"""


@pytest.fixture(scope="module")
def models(zenml_client):
    suffix = uuid.uuid4().hex[:8]
    names = {"model": f"compat-model-{suffix}", "piped": f"piped-model-{suffix}", "pipeline": f"modelled-{suffix}"}
    return names, zenml_client.run(MODELS, timeout=300, **names)


def _type(info):
    return info["type"] if info else None


def test_two_versions_numbered_and_fetched(models):
    _, out = models
    assert out["numbers"] == [1, 2, "1", "two"]
    assert out["latest"] == "two" and out["by_number"] == "two" and out["by_name"] == 2
    assert _type(out["no_production_yet"]) == "builtins.KeyError", out["no_production_yet"]


def test_promotion_to_production_needs_force_and_archives_the_other(models):
    _, out = models
    assert out["stages_after_v1"] == {"1": "production", "2": None}
    # the server's RuntimeError (500 in ZenML) is what the client raises
    assert _type(out["refused"]) == "builtins.RuntimeError", out["refused"]
    assert "but `force` flag is False" in out["refused"]["message"], out["refused"]
    assert out["stages_after_refusal"] == {"1": "production", "2": None}
    assert out["stages_after_force"] == {"1": "archived", "2": "production"}
    assert out["archived"] == [1]


def test_the_production_version_is_fetched_by_stage(models):
    _, out = models
    assert out["production_by_stage"] == 2
    assert out["production_by_string"] == 2
    production = out["production_model"]
    assert production["number"] == 2 and production["id"] == production["v2"]


def test_update_and_delete(models):
    _, out = models
    assert out["updated"] == ["new", ["x"]]
    assert out["model_tags"] == ["a"]
    assert out["links"] == 0 and out["run_links"] == 0
    assert out["left"] == [2]
    assert _type(out["gone"]) == "builtins.KeyError", out["gone"]


def test_a_pipeline_with_a_model_creates_and_links_versions(models):
    names, out = models
    assert out["pipe_versions"] == [["v1", 1], ["2", 2]], out
    assert out["pipe_data"] == ["dataset"]
    assert out["pipe_model_artifacts"] == ["weights"]
    assert len(out["pipe_runs"]) == 1 and out["pipe_runs"][0].startswith(names["pipeline"]), out["pipe_runs"]
    assert out["pipe_run_ids"] == [out["pipe_first_run"]]  # the run the pipeline call returned
    assert out["pipe_weights"] == 6 and out["pipe_dataset"] == 3
    assert out["pipe_model_links"] == 1 and out["pipe_all_links"] == 2
    assert out["pipe_run_links"] == 1
    assert out["pipe_latest"] == 2
    assert len(out["pipe_again_runs"]) == 1
    assert out["pipe_again_runs"][0].startswith(names["pipeline"] + "-again"), out["pipe_again_runs"]


def test_model_metadata_logged_in_a_step(models):
    _, out = models
    assert out["pipe_metadata"] == {"accuracy": 0.9}, out["pipe_metadata"]
