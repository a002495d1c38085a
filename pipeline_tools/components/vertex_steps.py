"""The custom components as Vertex AI steps: containers of the pipeline image, started by `entrypoint`.

On Vertex AI every task is a container. TFX's own components run in TFX's image; ours run in the
pipeline image (TFX's image plus this package), whose `python -m pipeline_tools.components.entrypoint`
reads the task's executor input (`{{$}}`: its artifacts' URIs, metadata and names) and calls the
same functions the local components call.
"""

from tfx.dsl.component.experimental import container_component
from tfx.types import standard_artifacts

ENTRYPOINT = ["python", "-m", "pipeline_tools.components.entrypoint"]
# The task's whole executor input, filled in by Vertex AI.
_EXECUTOR_INPUT = ["--executor-input", "{{$}}"]


def _step(name: str, image: str, arguments: list[str], inputs: dict, outputs: dict | None = None):
    return container_component.create_container_component(
        name=name,
        image=image,
        command=[*ENTRYPOINT, *arguments, *_EXECUTOR_INPUT],
        inputs=inputs,
        outputs=outputs or {},
    )


def data_gate(image: str, reference_statistics: str):
    """DataValidationGate: anomalies and drift; fails the task, and so the run, on any problem."""
    inputs = {
        "anomalies": standard_artifacts.ExampleAnomalies,
        "statistics": standard_artifacts.ExampleStatistics,
        "schema": standard_artifacts.Schema,
        "baseline_model": standard_artifacts.Model,
    }
    return _step("DataValidationGate", image, ["data-gate", "--reference", reference_statistics], inputs)


def training_statistics(image: str):
    """AttachTrainingStatistics: the trained model with its training data's statistics."""
    inputs = {"trained_model": standard_artifacts.Model, "statistics": standard_artifacts.ExampleStatistics}
    return _step(
        "AttachTrainingStatistics", image, ["training-statistics"], inputs, {"model": standard_artifacts.Model}
    )


def model_gate(image: str, rules):
    """ModelGate: the blessing the Pusher obeys, on the Evaluator's evidence (model_gate.Rules)."""
    inputs = {
        "model": standard_artifacts.Model,
        "evaluation": standard_artifacts.ModelEvaluation,
        "baseline_model": standard_artifacts.Model,
    }
    arguments = ["model-gate", "--min-auc", str(rules.min_auc), "--min-examples", str(rules.min_examples)]
    arguments += ["--min-positives", str(rules.min_positives)]
    return _step("ModelGate", image, arguments, inputs, {"blessing": standard_artifacts.ModelBlessing})


def endpoint_cleanup(image: str, project: str, region: str, endpoint_name: str, keep_previous: bool):
    """UndeployIdleModels: after each push, the models left at 0% traffic are undeployed."""
    arguments = ["endpoint-cleanup", "--project", project, "--region", region, "--endpoint-name", endpoint_name]
    inputs = {"pushed_model": standard_artifacts.PushedModel}
    return _step("UndeployIdleModels", image, arguments + (["--keep-previous"] if keep_previous else []), inputs)
