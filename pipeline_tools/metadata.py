"""Reading ML Metadata: the runs of a pipeline, what each component did in each run, with which artifacts.

LocalDagRunner and the InteractiveContext record every execution in a SQLite ML Metadata store
(`metadata.sqlite`): its component, its state (COMPLETE, CACHED, or RUNNING if it never
finished), its start and last update, and the artifacts it read and wrote. The local runner's
summary, the benchmark's per-component times, the lineage view and the tests all read it here.
"""

import dataclasses
import os
from typing import Any

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    """A read-only connection to a SQLite ML Metadata store."""
    if not os.path.isfile(metadata_path):
        raise FileNotFoundError(f"no ML Metadata store at {metadata_path}")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def property_value(artifact: metadata_store_pb2.Artifact, name: str) -> Any:
    """An artifact's property or custom property (int, float or string), or None."""
    for properties in (artifact.properties, artifact.custom_properties):
        if name in properties:
            value = properties[name]
            return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return None


@dataclasses.dataclass(frozen=True)
class Execution:
    """One component's execution in a run, with the artifacts it read and wrote (by input/output key)."""

    component: str
    id: int
    state: str
    seconds: float
    inputs: dict[str, list[metadata_store_pb2.Artifact]]
    outputs: dict[str, list[metadata_store_pb2.Artifact]]

    def output(self, key: str) -> metadata_store_pb2.Artifact | None:
        found = self.outputs.get(key, [])
        return found[-1] if found else None


@dataclasses.dataclass(frozen=True)
class Run:
    """One pipeline run: its executions in the order they started."""

    name: str
    started_ms: int
    executions: list[Execution]

    def execution(self, component: str) -> Execution | None:
        """The component's (last) execution in this run, or None when it did not run."""
        found = [execution for execution in self.executions if execution.component == component]
        return found[-1] if found else None

    def output(self, component: str, key: str) -> metadata_store_pb2.Artifact | None:
        execution = self.execution(component)
        return execution.output(key) if execution else None


def event_keys(event: metadata_store_pb2.Event) -> list[str]:
    """The keys an execution read or wrote the event's artifact under. One artifact under two keys is one
    event whose path holds both: when a rerun's candidate is the served model, the Evaluator reads it as
    `baseline_model` and `model`, and the path is [baseline_model, 0, model, 0]."""
    return [step.key for step in event.path.steps if step.HasField("key")] or [""]


def _artifacts_by_key(store, execution_id: int) -> tuple[dict, dict]:
    """{key: [artifact]} of what an execution read and wrote."""
    events = store.get_events_by_execution_ids([execution_id])
    artifacts = {
        artifact.id: artifact for artifact in store.get_artifacts_by_id([event.artifact_id for event in events])
    }
    inputs: dict[str, list] = {}
    outputs: dict[str, list] = {}
    for event in events:
        side = (
            inputs
            if event.type in (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
            else outputs
        )
        for key in event_keys(event):
            side.setdefault(key, []).append(artifacts[event.artifact_id])
    return inputs, outputs


def runs(metadata_path: str) -> list[Run]:
    """Every run recorded in the store, oldest first."""
    store = open_store(metadata_path)
    component_of = {}
    for node in store.get_contexts_by_type("node"):
        for execution in store.get_executions_by_context(node.id):
            component_of[execution.id] = node.name.split(".", 1)[-1]
    result = []
    for context in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.create_time_since_epoch):
        executions = []
        for execution in sorted(store.get_executions_by_context(context.id), key=lambda e: e.id):
            inputs, outputs = _artifacts_by_key(store, execution.id)
            executions.append(
                Execution(
                    component=component_of.get(execution.id, str(execution.id)),
                    id=execution.id,
                    state=metadata_store_pb2.Execution.State.Name(execution.last_known_state),
                    seconds=(execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000,
                    inputs=inputs,
                    outputs=outputs,
                )
            )
        result.append(Run(context.name, context.create_time_since_epoch, executions))
    return result
