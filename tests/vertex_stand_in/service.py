"""Vertex AI Pipelines' runs, as KFP's pipeline_spec.proto and Vertex AI's documentation describe them.

For each run of a blueprint (a PipelineJob body: `pipelineSpec` and `runtimeConfig`), task by task
in dependency order:
  - A resolver task (`ResolverSpec`) queries ML Metadata. The proto documents the filter's
    conditions and joins them with AND; `limit` defaults to 1; "if no in_context filter is set,
    the query will be scoped to the current pipeline context". Newest first (TFX's latest-blessed
    resolver relies on it). A condition the stand-in does not model fails the run. Unsure: what the
    service does with a placeholder over an input that resolved to no artifact (the first run's
    model resolver); here the query then matches nothing, which is what TFX's resolver expects.
  - A container task gets an ExecutorInput (its parameters, its input artifacts, the URIs of its
    outputs under `{gcsOutputDirectory}/{project number}/{run}/{task}_{id}/`, and `outputFile`),
    the placeholders the proto lists filled in (any other, or one over an input with no artifact,
    fails the task), its image's environment (images.py) and a fresh folder. A schema 2.1 blueprint
    (`runtimeValue.constant`) gives `parameterValues`, a 2.0 one (`constantValue`) the deprecated
    `parameters`.
  - `lifecycle.preCacheCheck` runs first: "It can change the properties of the execution and output
    artifacts before they are used to compute the cache key" (the proto). Its parameter values join
    the cache key, and its output artifacts' metadata is recorded on those artifacts in ML Metadata
    (ExampleGen's driver records the span there; the executor's own report adds to it). Nothing of
    it is passed to the main container: the proto adds that the updated metadata is, which Vertex
    AI's documentation does not say and TFX's executor does not rely on (it reads the hook's file
    itself), so the stand-in does the least.
  - Caching ("Configure execution caching"): the key is the step's inputs (parameter values, input
    artifact IDs), its output definitions (names) and its component specification (image, command,
    arguments, environment variables); only runs of the same pipeline name share it. On by default,
    as `PipelineJob(enable_caching=True)`; False turns it off, None defers to each task's
    `cachingOptions`. A hit skips the task (PipelineTaskState SKIPPED: "skipped to run due to a cache
    hit") and hands on the earlier execution's outputs, the same artifacts.
  - Failure: PipelineJob's default failure policy is "slow": tasks that need a failed one are not
    scheduled (UNSCHEDULABLE), the others still run.
  - Artifacts are created PENDING when their task starts and become LIVE when it succeeds (Vertex ML
    Metadata's Artifact.State), with the metadata the task's ExecutorOutput reports.
"""

import dataclasses
import hashlib
import itertools
import json
import os
import re
import subprocess
import time
from typing import Any

from pipeline_tools.vertex.blueprint import task_order, upstream
from vertex_stand_in.images import ImageCatalogue

_PLACEHOLDER = re.compile(r"\{\{\$(.*?)\}\}")
_ARTIFACT = re.compile(r"^\.(inputs|outputs)\.artifacts\['([^']+)'\](?:\.uri|\.(?:metadata|properties)\['([^']+)'\])$")
_PARAMETER = re.compile(r"^\.inputs\.parameters\['([^']+)'\]$")
_OUTPUT_FILE = ".outputs.output_file"
# What a Dataflow job's options become when the stand-in runs its workers as local processes.
_DATAFLOW_ONLY = (
    "--runner=",
    "--project=",
    "--region=",
    "--temp_location=",
    "--staging_location=",
    "--machine_type=",
    "--max_num_workers=",
    "--disk_size_gb=",
    "--experiments=",
    "--service_account_email=",
    "--labels=",
)


class StandInError(RuntimeError):
    """Something the stand-in does not model, or that the service would refuse."""


@dataclasses.dataclass
class Artifact:
    """A runtime artifact as Vertex ML Metadata keeps it."""

    name: str
    schema: str  # The type's instance schema (YAML; its title is the type).
    uri: str
    metadata: dict[str, Any]
    pipeline: str
    state: str = "PENDING"

    @property
    def title(self) -> str:
        return re.search(r"title: (\S+)", self.schema).group(1)

    def runtime(self) -> dict[str, Any]:
        """As an ExecutorInput's RuntimeArtifact."""
        return {"name": self.name, "type": {"instanceSchema": self.schema}, "uri": self.uri, "metadata": self.metadata}


@dataclasses.dataclass
class TaskResult:
    task: str
    state: str  # SUCCEEDED, FAILED, SKIPPED (a cache hit) or UNSCHEDULABLE (an upstream task failed).
    seconds: float = 0.0
    log: str = ""

    @property
    def cache_hit(self) -> bool:
        return self.state == "SKIPPED"


@dataclasses.dataclass
class RunResult:
    run: str
    tasks: dict[str, TaskResult]
    outputs: dict[str, dict[str, list[Artifact]]]

    def state(self, task: str) -> str:
        return self.tasks[task].state

    def cache_hits(self) -> list[str]:
        return sorted(name for name, result in self.tasks.items() if result.cache_hit)

    def failures(self) -> dict[str, str]:
        """{task: the end of its log} of every task that did not succeed or hit the cache."""
        return {name: t.log[-3000:] for name, t in self.tasks.items() if t.state not in ("SUCCEEDED", "SKIPPED")}


class StandIn:
    """Executes blueprints against one ML Metadata store and one cache, as one project's Vertex AI would.

    `network`: a folder whose sitecustomize.py fakes the Google Cloud APIs a task calls (cloud.py);
    it is the one entry the stand-in adds to a task's environment (PYTHONPATH), standing in for the
    network. `local_dataflow_workers`: Dataflow cannot run here; with a number, a task whose Beam
    options say DataflowRunner runs its Beam pipeline with that many local worker processes
    instead (DirectRunner, multi_processing), keeping the packaging options; without, it fails.
    """

    def __init__(
        self,
        work_dir: str,
        images: ImageCatalogue,
        project_number: str = "123456789012",
        region: str = "us-central1",
        network: str | None = None,
        local_dataflow_workers: int | None = None,
    ):
        self.work_dir = work_dir
        self.images = images
        self.project_number = project_number
        self.region = region
        self.network = network
        self.local_dataflow_workers = local_dataflow_workers
        self.registry: list[Artifact] = []
        self._cache: dict[str, dict[str, list[Artifact]]] = {}
        self._ids = itertools.count(1)

    # --- A run -----------------------------------------------------------------------------------

    def run(self, blueprint: dict[str, Any], run: str, enable_caching: bool | None = True) -> RunResult:
        """Executes every task of the blueprint once, in dependency order (see the module's docstring)."""
        spec = blueprint["pipelineSpec"]
        pipeline = spec["pipelineInfo"]["name"]
        run_root = os.path.join(blueprint["runtimeConfig"]["gcsOutputDirectory"], self.project_number, run)
        outputs: dict[str, dict[str, list[Artifact]]] = {}
        results: dict[str, TaskResult] = {}
        for name in task_order(blueprint):
            task = spec["root"]["dag"]["tasks"][name]
            if any(results[before].state not in ("SUCCEEDED", "SKIPPED") for before in upstream(task)):
                results[name] = TaskResult(name, "UNSCHEDULABLE")
                continue
            component = spec["components"][task["componentRef"]["name"]]
            executor = spec["deploymentSpec"]["executors"][component["executorLabel"]]
            started = time.monotonic()
            task_root = os.path.join(run_root, f"{name}_{next(self._ids)}")
            executor_input = self._executor_input(task, component, outputs, task_root, pipeline)
            if "resolver" in executor:
                outputs[name] = self._resolve(executor["resolver"], executor_input, pipeline)
                results[name] = TaskResult(name, "SUCCEEDED")
            elif "container" in executor:
                caching = (
                    enable_caching
                    if enable_caching is not None
                    else task.get("cachingOptions", {}).get("enableCache", False)
                )
                results[name], outputs[name] = self._run_container_task(
                    name, executor["container"], component, executor_input, task_root, pipeline, caching
                )
            else:
                raise StandInError(f"task {name!r}: the stand-in does not model executors of kind {sorted(executor)}")
            results[name].seconds = time.monotonic() - started
        return RunResult(run, results, outputs)

    # --- The executor input and its placeholders -----------------------------------------------------

    def _executor_input(self, task, component, outputs, task_root: str, pipeline: str) -> dict[str, Any]:
        inputs: dict[str, Any] = {"artifacts": {}}
        for key, given in task.get("inputs", {}).get("parameters", {}).items():
            runtime_value = given.get("runtimeValue")
            if runtime_value is None:
                raise StandInError(f"parameter {key!r}: only constants are modelled, not {sorted(given)}")
            if "constant" in runtime_value:  # Schema 2.1: a google.protobuf.Value.
                inputs.setdefault("parameterValues", {})[key] = runtime_value["constant"]
            else:  # Schema 2.0: the deprecated ml_pipelines.Value.
                inputs.setdefault("parameters", {})[key] = runtime_value["constantValue"]
        for key, given in task.get("inputs", {}).get("artifacts", {}).items():
            if "taskOutputArtifact" not in given:
                raise StandInError(f"artifact input {key!r}: only task outputs are modelled, not {sorted(given)}")
            source = given["taskOutputArtifact"]
            found = outputs.get(source["producerTask"], {}).get(source["outputArtifactKey"], [])
            inputs["artifacts"][key] = {"artifacts": [artifact.runtime() for artifact in found]}
        definitions = component.get("outputDefinitions", {})
        if definitions.get("parameters"):
            raise StandInError(f"output parameters are not modelled: {sorted(definitions['parameters'])}")
        output_artifacts = {}
        for key, definition in definitions.get("artifacts", {}).items():
            artifact = Artifact(
                name=f"projects/{self.project_number}/locations/{self.region}/metadataStores/default/artifacts/{next(self._ids)}",
                schema=definition["artifactType"]["instanceSchema"],
                uri=os.path.join(task_root, key),
                metadata={},
                pipeline=pipeline,
            )
            output_artifacts[key] = {"artifacts": [artifact.runtime()]}
        return {
            "inputs": inputs,
            "outputs": {"artifacts": output_artifacts, "outputFile": os.path.join(task_root, "executor_output.json")},
        }

    @staticmethod
    def _fill(text: str, executor_input: dict[str, Any], missing: str = "fail") -> str | None:
        """Fills the placeholders the proto lists into one string. missing="none": an input placeholder
        over no artifact makes the whole string None (a resolver's query), else it is an error."""
        absent = False

        def replace(match: re.Match) -> str:
            nonlocal absent
            path = match.group(1)
            if path == "":
                return json.dumps(executor_input)
            if path == _OUTPUT_FILE:
                return executor_input["outputs"]["outputFile"]
            parameter = _PARAMETER.match(path)
            if parameter:
                values = executor_input["inputs"].get("parameterValues") or executor_input["inputs"].get(
                    "parameters", {}
                )
                if parameter.group(1) not in values:
                    raise StandInError(f"placeholder {match.group(0)}: no such parameter")
                value = values[parameter.group(1)]
                return value if isinstance(value, str) else json.dumps(value)
            artifact = _ARTIFACT.match(path)
            if not artifact:
                raise StandInError(f"placeholder {match.group(0)} is not one the stand-in models")
            side, key, field = artifact.groups()
            listing = executor_input[side]["artifacts"].get(key, {}).get("artifacts", [])
            if not listing:
                if missing == "none":
                    absent = True
                    return ""
                raise StandInError(f"placeholder {match.group(0)}: {side[:-1]} artifact {key!r} has no artifact")
            if field is None:
                return listing[0]["uri"]
            value = listing[0]["metadata"].get(field)
            if value is None:
                raise StandInError(f"placeholder {match.group(0)}: the artifact has no metadata {field!r}")
            return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)

        filled = _PLACEHOLDER.sub(replace, text)
        return None if absent else filled

    # --- Resolver tasks: ML Metadata queries -----------------------------------------------------------

    def _resolve(self, resolver: dict, executor_input: dict, pipeline: str) -> dict[str, list[Artifact]]:
        resolved = {}
        for key, query in resolver["outputArtifactQueries"].items():
            filled = self._fill(query["filter"], executor_input, missing="none")
            conditions = [] if filled is None else [part.strip() for part in filled.split(" AND ")]
            found = [] if filled is None else [a for a in self.registry if a.pipeline == pipeline]
            found = [artifact for artifact in found if all(_matches(artifact, c) for c in conditions)]
            resolved[key] = list(reversed(found))[: int(query.get("limit", 1))]
        return resolved

    # --- Container tasks ---------------------------------------------------------------------------------

    def _run_container_task(self, name, container, component, executor_input, task_root, pipeline, caching):
        os.makedirs(task_root, exist_ok=True)
        log = ""
        pre_cache = container.get("lifecycle", {}).get("preCacheCheck")
        updates: dict[str, Any] = {}
        recorded: dict[str, dict] = {}
        if pre_cache:
            status, log = self._execute(
                container["image"], pre_cache["command"], pre_cache.get("args", []), executor_input, task_root
            )
            if status != 0:
                return TaskResult(name, "FAILED", log=log), {}
            with open(executor_input["outputs"]["outputFile"], encoding="utf-8") as handle:
                reported = json.load(handle)
            updates = {**reported.get("parameters", {}), **reported.get("parameterValues", {})}
            recorded = {
                key: (listing.get("artifacts") or [{}])[0].get("metadata", {})
                for key, listing in reported.get("artifacts", {}).items()
            }
        key = _cache_key(pipeline, container, component, executor_input, updates)
        if caching and key in self._cache:
            return TaskResult(name, "SKIPPED", log=log + "cache hit\n"), self._cache[key]
        created = self._register(executor_input, pipeline)
        status, output = self._execute(
            container["image"], container["command"], container.get("args", []), executor_input, task_root
        )
        if status != 0:
            return TaskResult(name, "FAILED", log=log + output), {}
        outputs = self._outputs(executor_input, created, recorded)
        self._cache[key] = outputs
        return TaskResult(name, "SUCCEEDED", log=log + output), outputs

    def _register(self, executor_input: dict, pipeline: str) -> dict[str, Artifact]:
        """The task's output artifacts, created PENDING in ML Metadata as the task starts."""
        created = {}
        for key, listing in executor_input["outputs"]["artifacts"].items():
            [given] = listing["artifacts"]
            created[key] = Artifact(given["name"], given["type"]["instanceSchema"], given["uri"], {}, pipeline)
            self.registry.append(created[key])
        return created

    def _outputs(self, executor_input: dict, created: dict[str, Artifact], recorded: dict) -> dict[str, list[Artifact]]:
        """LIVE now, with the metadata the pre-cache check recorded, updated by what the task's ExecutorOutput
        reports (if it wrote one), and its URI."""
        reported = {}
        path = executor_input["outputs"]["outputFile"]
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                reported = json.load(handle).get("artifacts", {})
        for key, artifact in created.items():
            listing = reported.get(key, {}).get("artifacts") or [{}]
            artifact.uri = listing[0].get("uri") or artifact.uri
            artifact.metadata = {**recorded.get(key, {}), **listing[0].get("metadata", {})}
            artifact.state = "LIVE"
        return {key: [artifact] for key, artifact in created.items()}

    def _execute(self, image: str, command: list, args: list, executor_input: dict, task_root: str) -> tuple[int, str]:
        """Runs a command in the image's environment only, with this machine's Python for the image's."""
        filled = [self._fill(part, executor_input) for part in [*command, *args]]
        if filled[0] != "python":
            raise StandInError(f"the stand-in runs Python commands only, not {filled[0]!r}")
        filled = [self.images.python, *self._dataflow_substituted(filled[1:])]
        environment = self.images.environment(image, home=os.path.join(task_root, "home"))
        if self.network:
            environment["PYTHONPATH"] = ":".join(filter(None, [self.network, environment.get("PYTHONPATH")]))
        cwd = os.path.join(task_root, "cwd")
        os.makedirs(environment["HOME"], exist_ok=True)
        os.makedirs(cwd, exist_ok=True)
        result = subprocess.run(filled, cwd=cwd, env=environment, capture_output=True, text=True, timeout=1800)
        return result.returncode, result.stdout + result.stderr

    def _dataflow_substituted(self, arguments: list[str]) -> list[str]:
        """Beam options for DataflowRunner become local worker processes' (see the class docstring)."""
        if "--runner=DataflowRunner" not in arguments:
            return arguments
        if self.local_dataflow_workers is None:
            raise StandInError(
                "a task runs Beam on Dataflow, which the stand-in does not have (local_dataflow_workers)"
            )
        kept = [argument for argument in arguments if not argument.startswith(_DATAFLOW_ONLY)]
        workers = f"--direct_num_workers={self.local_dataflow_workers}"
        return [*kept, "--runner=DirectRunner", "--direct_running_mode=multi_processing", workers]


def _cache_key(pipeline: str, container: dict, component: dict, executor_input: dict, updates: dict) -> str:
    """The step's interface, as "Configure execution caching" lists it."""
    inputs = executor_input["inputs"]
    interface = {
        "pipeline": pipeline,
        "parameters": {**inputs.get("parameters", {}), **inputs.get("parameterValues", {}), **updates},
        "input_artifacts": {
            key: [a["name"] for a in listing["artifacts"]] for key, listing in inputs["artifacts"].items()
        },
        "output_definitions": sorted(component.get("outputDefinitions", {}).get("artifacts", {})),
        "specification": [
            container["image"],
            container.get("command", []),
            container.get("args", []),
            container.get("env", []),
        ],
    }
    return hashlib.sha256(json.dumps(interface, sort_keys=True).encode()).hexdigest()


def _matches(artifact: Artifact, condition: str) -> bool:
    key, _, value = (part.strip() for part in condition.partition("="))
    value = value.strip('"')
    if key == "schema_title":
        return artifact.title == value
    if key == "state":
        return artifact.state == value
    if key == "name":
        return artifact.name == value
    found = re.fullmatch(r"metadata\.(\w+)\.(number_value|string_value)", key)
    if found:
        stored = artifact.metadata.get(found.group(1))
        if stored is None:
            return False
        if found.group(2) == "number_value":
            return isinstance(stored, (int, float)) and float(stored) == float(value)
        return stored == value
    raise StandInError(f"the stand-in does not model the query condition {condition!r}")
