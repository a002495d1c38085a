"""A stand-in for Vertex AI Pipelines' launcher: executes a compiled blueprint task by task on this machine.

Vertex AI reads the PipelineSpec JSON that KubeflowV2DagRunner writes and, for each task in
dependency order, starts the task's container with its command and arguments, the placeholders
filled in: `{{$}}` becomes the task's ExecutorInput as JSON (its parameters, the artifacts its
upstream tasks produced, the URIs its own outputs go to, and the file its executor writes its
outputs to), `{{$.inputs.artifacts['x'].uri}}` an input artifact's URI. A task with a
`preCacheCheck` (CsvExampleGen's driver, which resolves spans) runs that first, and its output
updates the task's parameters and output artifacts. Resolver tasks are ML Metadata queries that
Vertex AI answers itself.

This module does the same with subprocesses of this Python standing in for the TFX image: the
command and arguments are the blueprint's, the environment has no PYTHONPATH (the image has
none of this repository), each task runs in a fresh folder. Artifacts are registered as Vertex
AI would register them, so a resolver query finds the ones earlier runs produced. Learned from
kfp's pipeline_spec protos and TFX's kubeflow_v2_run_executor; written here.
"""

import dataclasses
import itertools
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

from pipeline_tools.vertex.blueprint import task_order

_PLACEHOLDER = re.compile(
    r"\{\{\$(?:\.(inputs|outputs)\.(artifacts|parameters)\['([^']+)'\](?:\.(uri|metadata\['([^']+)'\]))?)?\}\}"
)
_ids = itertools.count(1)


@dataclasses.dataclass
class Artifact:
    """A runtime artifact as Vertex AI's ML Metadata keeps it."""

    name: str
    schema: str  # The artifact type's instance schema (YAML; its title is the type).
    uri: str
    metadata: dict[str, Any]
    run: str

    @property
    def title(self) -> str:
        return re.search(r"title: (\S+)", self.schema).group(1)

    def runtime(self) -> dict[str, Any]:
        """As an ExecutorInput's RuntimeArtifact."""
        return {"name": self.name, "type": {"instanceSchema": self.schema}, "uri": self.uri, "metadata": self.metadata}


@dataclasses.dataclass
class TaskResult:
    task: str
    state: str  # SUCCEEDED, FAILED, or SKIPPED (an upstream task failed).
    seconds: float = 0.0
    log: str = ""


@dataclasses.dataclass
class RunResult:
    run: str
    tasks: dict[str, TaskResult]
    outputs: dict[str, dict[str, list[Artifact]]]

    def state(self, task: str) -> str:
        return self.tasks[task].state


class StandIn:
    """Executes blueprints with a shared artifact registry (one ML Metadata store across runs)."""

    def __init__(self, work_dir: str, python: str = sys.executable):
        self.work_dir = work_dir
        self.python = python
        self.registry: list[Artifact] = []

    # --- Resolver tasks: ML Metadata queries ---------------------------------------------------

    def _matches(self, artifact: Artifact, condition: str) -> bool:
        key, _, value = (part.strip() for part in condition.partition("="))
        value = value.strip('"')
        if key == "schema_title":
            return artifact.title == value
        if key == "state":
            return value == "LIVE"
        if key == "name":
            return artifact.name == value
        found = re.fullmatch(r"metadata\.(\w+)\.number_value", key)
        if found:
            return float(artifact.metadata.get(found.group(1), "nan")) == float(value)
        raise ValueError(f"the stand-in cannot answer the query condition {condition!r}")

    def _query(self, filter_text: str) -> list[Artifact]:
        """The newest artifact matching every condition of an `A AND B` filter, as a list (empty if none)."""
        conditions = [part.strip() for part in filter_text.split(" AND ")]
        found = [artifact for artifact in self.registry if all(self._matches(artifact, c) for c in conditions)]
        return found[-1:]

    # --- Containers ------------------------------------------------------------------------------

    def _fill(self, text: str, executor_input: dict[str, Any]) -> str:
        """Replaces the blueprint's placeholders in one command-line argument, as Vertex AI does."""

        def replace(match: re.Match) -> str:
            side, kind, key, field, metadata_key = match.groups()
            if side is None:
                return json.dumps(executor_input)
            if kind == "parameters":
                return str(executor_input[side]["parameterValues"][key])
            artifacts = executor_input[side]["artifacts"].get(key, {}).get("artifacts", [])
            if not artifacts:
                return ""
            if field == "uri":
                return artifacts[0]["uri"]
            return str(artifacts[0]["metadata"].get(metadata_key, ""))

        return _PLACEHOLDER.sub(replace, text)

    def _run_container(self, command: list[str], args: list[str], executor_input: dict, cwd: str) -> tuple[int, str]:
        """Runs a container's command with this Python in place of the image's `python`."""
        filled = [self._fill(part, executor_input) for part in [*command, *args]]
        if filled[0] == "python":
            filled[0] = self.python
        environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        os.makedirs(cwd, exist_ok=True)
        result = subprocess.run(filled, cwd=cwd, env=environment, capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    # --- One task --------------------------------------------------------------------------------

    def _executor_input(self, spec, task: dict, component: dict, outputs, task_root: str) -> dict[str, Any]:
        parameters, values = {}, {}
        for key, value in task.get("inputs", {}).get("parameters", {}).items():
            constant = value["runtimeValue"]["constantValue"]
            if "stringValue" in constant:
                parameters[key], values[key] = {"stringValue": constant["stringValue"]}, constant["stringValue"]
            else:
                parameters[key], values[key] = {"intValue": constant["intValue"]}, int(constant["intValue"])
        inputs = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]
            found = outputs.get(producer["producerTask"], {}).get(producer["outputArtifactKey"], [])
            inputs[key] = {"artifacts": [artifact.runtime() for artifact in found]}
        output_artifacts = {}
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            artifact = {
                "name": f"projects/0/locations/local/metadataStores/default/artifacts/{next(_ids)}",
                "type": {"instanceSchema": definition["artifactType"]["instanceSchema"]},
                "uri": os.path.join(task_root, key),
                "metadata": {},
            }
            output_artifacts[key] = {"artifacts": [artifact]}
        return {
            "inputs": {"parameters": parameters, "parameterValues": values, "artifacts": inputs},
            "outputs": {"artifacts": output_artifacts, "outputFile": os.path.join(task_root, "executor_output.json")},
        }

    @staticmethod
    def _apply_driver_output(executor_input: dict[str, Any]) -> None:
        """What Vertex AI does with a preCacheCheck's output: new parameters and output artifact metadata."""
        with open(executor_input["outputs"]["outputFile"]) as handle:
            driver = json.load(handle)
        for key, value in driver.get("parameterValues", {}).items():
            executor_input["inputs"]["parameterValues"][key] = value
            kind = "stringValue" if isinstance(value, str) else "intValue"
            executor_input["inputs"]["parameters"][key] = {kind: value if kind == "stringValue" else str(int(value))}
        for key, listing in driver.get("artifacts", {}).items():
            given = executor_input["outputs"]["artifacts"][key]["artifacts"]
            for artifact, updated in zip(given, listing["artifacts"], strict=True):
                artifact["metadata"].update(updated.get("metadata", {}))

    def _outputs_of(self, executor_input: dict[str, Any], run: str) -> dict[str, list[Artifact]]:
        """The task's output artifacts: from its executor's output file, or as given (container components)."""
        given = executor_input["outputs"]["artifacts"]
        path = executor_input["outputs"]["outputFile"]
        written = {}
        if os.path.exists(path):
            with open(path) as handle:
                written = json.load(handle).get("artifacts", {})
        result = {}
        for key, listing in given.items():
            runtime = (written.get(key) or listing)["artifacts"][0]
            schema = listing["artifacts"][0]["type"]["instanceSchema"]
            name = runtime.get("name") or listing["artifacts"][0]["name"]
            result[key] = [Artifact(name, schema, runtime["uri"], runtime.get("metadata", {}), run)]
        return result

    def _resolve(self, executor: dict, executor_input: dict) -> dict[str, list[Artifact]]:
        queries = executor["resolver"]["outputArtifactQueries"]
        return {key: self._query(self._fill(query["filter"], executor_input)) for key, query in queries.items()}

    def run(self, blueprint: dict[str, Any], run: str) -> RunResult:
        """Executes every task of the blueprint once, in dependency order; a failure skips its dependents."""
        spec = blueprint["pipelineSpec"]
        tasks = spec["root"]["dag"]["tasks"]
        outputs: dict[str, dict[str, list[Artifact]]] = {}
        results: dict[str, TaskResult] = {}
        for name in task_order(blueprint):
            task = tasks[name]
            if any(results[upstream].state != "SUCCEEDED" for upstream in task.get("dependentTasks", [])):
                results[name] = TaskResult(name, "SKIPPED")
                continue
            component = spec["components"][task["componentRef"]["name"]]
            executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
            task_root = os.path.join(self.work_dir, run, f"{name}_{next(_ids)}")
            executor_input = self._executor_input(spec, task, component, outputs, task_root)
            started = time.monotonic()
            if "resolver" in executor:
                outputs[name] = self._resolve(executor, executor_input)
                results[name] = TaskResult(name, "SUCCEEDED", time.monotonic() - started)
                continue
            results[name] = self._run_task(name, executor["container"], executor_input, task_root)
            results[name].seconds = time.monotonic() - started
            if results[name].state == "SUCCEEDED":
                outputs[name] = self._outputs_of(executor_input, run)
                self.registry += [artifact for listing in outputs[name].values() for artifact in listing]
        return RunResult(run, results, outputs)

    def _run_task(self, name: str, container: dict, executor_input: dict, task_root: str) -> TaskResult:
        log = ""
        pre_cache = container.get("lifecycle", {}).get("preCacheCheck")
        if pre_cache:
            status, log = self._run_container(pre_cache["command"], pre_cache["args"], executor_input, task_root)
            if status != 0:
                return TaskResult(name, "FAILED", log=log)
            self._apply_driver_output(executor_input)
        status, output = self._run_container(container["command"], container.get("args", []), executor_input, task_root)
        return TaskResult(name, "SUCCEEDED" if status == 0 else "FAILED", log=log + output)
