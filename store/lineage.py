"""The lineage graph of a pipeline run: the DAG on the dashboard's run page.

A port of ZenML 0.66.0's `LineageGraph.generate_run_nodes_and_edges`
(`zenml/lineage_graph/`), built from the same presentations that
`/runs/{id}`, `/steps/{id}` and `/artifact_versions/{id}` answer, so the
graph never disagrees with them. ZenML's quirks are kept, since the
dashboard was written against them: metadata values are Python's `str()` of
the value, the producer of an artifact nobody produced is the string
`"None"`, and an external artifact's `parent_step_id` has no `step_` prefix.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.artifacts import ARTIFACT_VERSIONS, ArtifactVersion, run_metadata_for
from store.crud import find_row
from store.db import Database
from store.resources import Actor
from store.runs import RUNS, STEPS, StepRun

ARTIFACT_PREFIX = "artifact_"
STEP_PREFIX = "step_"
#: StepConfiguration fields the graph leaves out of a step's `configuration`.
NOT_CONFIGURATION = ("inputs", "outputs", "parameters")


def run_graph(db: Database, run_id: Any, actor: Actor) -> dict:
    """`GET /runs/{id}/graph`: the run's steps, artifacts and the edges between them."""
    with db.reading() as session:
        run = find_row(session, RUNS, run_id)
        RUNS.authorize("read", actor, run)
        step_rows = session.scalars(
            select(StepRun).where(StepRun.pipeline_run_id == run.id).order_by(StepRun.created, StepRun.id)
        ).all()
        steps = STEPS.present_many(session, list(step_rows), hydrate=True)
        # the artifacts as ZenML's graph reads them: hydrated (producer, metadata)
        version_ids = {v["id"] for s in steps for v in [*s["body"]["inputs"].values(), *s["body"]["outputs"].values()]}
        version_rows = session.scalars(
            select(ArtifactVersion).where(ArtifactVersion.id.in_(version_ids))
        ).unique().all() if version_ids else []
        versions = {v["id"]: v for v in ARTIFACT_VERSIONS.present_many(session, list(version_rows), hydrate=True)}
        run_metadata = run_metadata_for(session, "pipeline_run", [run.id]).get(run.id, {})
        return LineageGraph(versions).build(steps, run_metadata)


def _metadata(entries: dict) -> list[list[str]]:
    """(key, value, type) triples, the value as Python's `str()` shows it."""
    return [[m["body"]["key"], str(m["body"]["value"]), str(m["body"]["type"])] for m in entries.values()]


def _import_path(source: dict | None) -> str:
    """`Source.import_path`: `module.attribute`, or the module alone."""
    source = source or {}
    if source.get("attribute"):
        return f"{source.get('module')}.{source['attribute']}"
    return str(source.get("module"))


class LineageGraph:
    """Nodes and edges in the order ZenML adds them."""

    def __init__(self, versions: dict):
        self.versions = versions
        self.nodes: list[dict] = []
        self.edges: list[dict] = []
        self.root_step_id: str | None = None

    def build(self, steps: list[dict], run_metadata: dict) -> dict:
        for step in steps:
            self._add_step(step)
        self._add_external_artifacts(steps)
        self._add_direct_edges(steps)
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "root_step_id": self.root_step_id,
            "run_metadata": _metadata(run_metadata),
        }

    def _add_step(self, step: dict) -> None:
        step_id = STEP_PREFIX + str(step["id"])
        if self.root_step_id is None:
            self.root_step_id = step_id
        self.nodes.append(self._step_node(step, step_id))
        status = step["body"]["status"]
        artifact_status = {"cached": "cached", "completed": "created"}.get(status, "unknown")
        for name, version in step["body"]["outputs"].items():
            artifact_id = ARTIFACT_PREFIX + str(version["id"])
            self._add_artifact(version["id"], artifact_id, name, step_id, artifact_status)
            self._add_edge(step_id, artifact_id)
        for version in step["body"]["inputs"].values():
            self._add_edge(ARTIFACT_PREFIX + str(version["id"]), step_id)

    def _add_external_artifacts(self, steps: list[dict]) -> None:
        """Inputs that no step of this run produced."""
        known = {node["id"] for node in self.nodes}
        for step in steps:
            for name, version in step["body"]["inputs"].items():
                artifact_id = ARTIFACT_PREFIX + str(version["id"])
                if artifact_id not in known:
                    producer = self.versions[version["id"]]["metadata"]["producer_step_run_id"]
                    self._add_artifact(version["id"], artifact_id, name, str(producer), "external")

    def _add_direct_edges(self, steps: list[dict]) -> None:
        """Edges for `after=...`: parents not already linked through an artifact."""
        for step in steps:
            step_id = STEP_PREFIX + str(step["id"])
            for parent in step["metadata"]["parent_step_ids"]:
                parent_id = STEP_PREFIX + str(parent)
                if not self._linked_by_artifact(step_id, parent_id):
                    self._add_edge(parent_id, step_id)

    def _linked_by_artifact(self, step_id: str, parent_id: str) -> bool:
        parent_outputs = {e["target"] for e in self.edges if e["source"] == parent_id}
        child_inputs = {e["source"] for e in self.edges if e["target"] == step_id}
        return bool(parent_outputs & child_inputs)

    def _step_node(self, step: dict, step_id: str) -> dict:
        config = step["metadata"]["config"] or {}
        configuration = {k: v for k, v in config.items() if k not in NOT_CONFIGURATION and v}
        return {
            "id": step_id,
            "type": "step",
            "data": {
                "execution_id": str(step["id"]),
                "name": step["name"],
                "status": step["body"]["status"],
                "entrypoint_name": config.get("name", step["name"]),
                "parameters": config.get("parameters") or {},
                "configuration": configuration,
                "inputs": {k: v["body"]["uri"] for k, v in step["body"]["inputs"].items()},
                "outputs": {k: v["body"]["uri"] for k, v in step["body"]["outputs"].items()},
                "metadata": _metadata(step["metadata"]["run_metadata"]),
            },
        }

    def _add_artifact(self, version_id: Any, artifact_id: str, name: str, step_id: str, status: str) -> None:
        version = self.versions[version_id]
        self.nodes.append({
            "id": artifact_id,
            "type": "artifact",
            "data": {
                "execution_id": str(version_id),
                "name": name,
                "status": status,
                "is_cached": status == "cached",
                "artifact_type": version["body"]["type"],
                "artifact_data_type": _import_path(version["body"]["data_type"]),
                "parent_step_id": step_id,
                "producer_step_id": str(version["metadata"]["producer_step_run_id"]),
                "uri": version["body"]["uri"],
                "metadata": _metadata(version["metadata"]["run_metadata"]),
            },
        })

    def _add_edge(self, source: str, target: str) -> None:
        self.edges.append({"id": f"{source}_{target}", "source": source, "target": target})
