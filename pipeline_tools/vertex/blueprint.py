"""Reads the JSON blueprint KubeflowV2DagRunner compiles: its tasks, their order, images and parameters.

A blueprint is a PipelineJob body: `pipelineSpec.root.dag.tasks` holds one task per component
(the Resolver becomes two ML Metadata queries), each naming a component whose executor is a
container (image, command, arguments) or a resolver query. Everything here reads a dict loaded
from that file; nothing needs TFX or the network.
"""

import json
from typing import Any

from pipeline_tools.settings import check

# The Beam-based components: ExampleGen, StatisticsGen, Transform and Evaluator run Beam
# pipelines; with use_dataflow they run them on Dataflow instead of inside their container.
BEAM_COMPONENTS = ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator")


def tasks(blueprint: dict[str, Any]) -> dict[str, Any]:
    """{task name: task spec} of the pipeline's DAG."""
    return blueprint["pipelineSpec"]["root"]["dag"]["tasks"]


def upstream(task: dict[str, Any]) -> set[str]:
    """The tasks a task waits for: its dependentTasks and the producers of its input artifacts."""
    artifacts = task.get("inputs", {}).get("artifacts", {}).values()
    producers = {given["taskOutputArtifact"]["producerTask"] for given in artifacts if "taskOutputArtifact" in given}
    return set(task.get("dependentTasks", [])) | producers


def task_order(blueprint: dict[str, Any]) -> list[str]:
    """The tasks, each after every task it waits for (ties by name); ValueError on a cycle."""
    dependencies = {name: upstream(task) for name, task in tasks(blueprint).items()}
    order: list[str] = []
    while dependencies:
        ready = sorted(name for name, needs in dependencies.items() if needs <= set(order))
        if not ready:
            raise ValueError(f"the blueprint's tasks depend on each other in a cycle: {sorted(dependencies)}")
        order.extend(ready)
        for name in ready:
            del dependencies[name]
    return order


def executor(blueprint: dict[str, Any], task_name: str) -> dict[str, Any]:
    """The executor a task runs: {"container": {...}} or {"resolver": {...}}."""
    spec = blueprint["pipelineSpec"]
    component = tasks(blueprint)[task_name]["componentRef"]["name"]
    return spec["deploymentSpec"]["executors"][spec["components"][component]["executorLabel"]]


def constant(task_parameter: dict[str, Any]) -> Any:
    """The value of a task's constant parameter, in schema 2.1's form (`runtimeValue.constant`, a
    protobuf Value: a string or a number) or 2.0's (`runtimeValue.constantValue.stringValue`...)."""
    runtime_value = task_parameter.get("runtimeValue", {})
    if "constant" in runtime_value:
        return runtime_value["constant"]
    old = runtime_value.get("constantValue", {})
    if "intValue" in old:
        return int(old["intValue"])
    if len(old) == 1:
        return next(iter(old.values()))
    raise ValueError(f"not a constant parameter: {task_parameter}")


def task_parameters(blueprint: dict[str, Any], task_name: str) -> dict[str, Any]:
    """A task's constant parameters, JSON strings decoded (e.g. custom_config as a dict), whole numbers as ints."""
    parameters = {}
    for name, value in tasks(blueprint)[task_name].get("inputs", {}).get("parameters", {}).items():
        found = constant(value)
        if isinstance(found, str):
            try:
                found = json.loads(found)
            except ValueError:
                pass
        elif isinstance(found, float) and found.is_integer():
            found = int(found)
        parameters[name] = found
    return parameters


def images(blueprint: dict[str, Any]) -> dict[str, str]:
    """{task name: image} of every task that runs a container."""
    found = {}
    for name in tasks(blueprint):
        container = executor(blueprint, name).get("container")
        if container is not None:
            found[name] = container["image"]
    return found


def validate(blueprint: dict[str, Any], pipeline_root: str, allowed_images: set[str]) -> None:
    """Raises ValueError unless the blueprint is complete, writes to pipeline_root and runs only the allowed images."""
    for key in ("displayName", "pipelineSpec", "runtimeConfig"):
        check(key in blueprint, f"the blueprint has no {key!r}")
    written_to = blueprint["runtimeConfig"].get("gcsOutputDirectory")
    check(written_to == pipeline_root, f"the blueprint writes to {written_to!r}, not to {pipeline_root!r}")
    all_tasks = tasks(blueprint)
    for name, task in all_tasks.items():
        for upstream in task.get("dependentTasks", []):
            check(upstream in all_tasks, f"task {name!r} depends on {upstream!r}, which the blueprint lacks")
    task_order(blueprint)
    for name, task_image in images(blueprint).items():
        check(
            task_image in allowed_images,
            f"task {name!r} runs image {task_image!r}, not one of {sorted(allowed_images)}",
        )


def beam_options(blueprint: dict[str, Any], task_name: str) -> list[str]:
    """The Beam options a task's container gets (after TFX's own executor arguments)."""
    args = executor(blueprint, task_name).get("container", {}).get("args", [])
    # TFX's own arguments come first, each a flag and its value; schema 2.1 adds the inputs' spec.
    markers = [
        arg for arg in ("--json_serialized_invocation_args", "--json_serialized_inputs_spec_args") if arg in args
    ]
    return args[max(args.index(marker) for marker in markers) + 2 :] if markers else []


def _what_runs(container: dict[str, Any] | None, executor_spec: dict[str, Any]) -> str:
    if container and "--executor_class_path" in container.get("args", []):
        return container["args"][container["args"].index("--executor_class_path") + 1]
    if container:  # A container step of the repository's own: its entry point and step.
        return " ".join(arg for arg in container["command"][:4])
    return "ML Metadata query (" + ", ".join(executor_spec) + ")"


def summarize(blueprint: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per task, in run order: what runs, in which image, after what, with which settings."""
    rows = []
    for name in task_order(blueprint):
        executor_spec = executor(blueprint, name)
        container = executor_spec.get("container")
        runner = next(
            (arg.split("=", 1)[1] for arg in beam_options(blueprint, name) if arg.startswith("--runner=")), ""
        )
        rows.append(
            {
                "task": name,
                "after": ", ".join(sorted(tasks(blueprint)[name].get("dependentTasks", []))),
                "runs": _what_runs(container, executor_spec),
                "image": container["image"] if container else "(none: runs in Vertex AI)",
                "custom_config": sorted((task_parameters(blueprint, name).get("custom_config") or {}).keys()),
                "beam_runner": (runner or "DirectRunner") if name in BEAM_COMPONENTS else "",
            }
        )
    return rows
