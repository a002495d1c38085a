"""The pipeline image's entry point: one custom component's step, as a Vertex AI task runs it.

    python -m pipeline_tools.components.entrypoint data-gate --reference gs://... --executor-input JSON
    python -m pipeline_tools.components.entrypoint training-statistics --executor-input JSON
    python -m pipeline_tools.components.entrypoint model-gate --min-auc 0.5 --min-examples 300 \\
        --min-positives 50 --executor-input JSON
    python -m pipeline_tools.components.entrypoint endpoint-cleanup --project P --region R \\
        --endpoint-name E [--keep-previous] --executor-input JSON

Vertex AI puts the task's executor input (KFP's ExecutorInput message as JSON) in place of the
last argument: each input artifact's name, URI and metadata, each output artifact's URI, and the
file (`outputs.outputFile`) where a step reports its outputs' metadata back (ExecutorOutput).
"""

import argparse
import json
import sys
from collections.abc import Sequence

from pipeline_tools.components import model_gate, training_statistics

_GATE_INPUTS = ("anomalies", "statistics", "schema", "baseline_model")


def _artifact(executor_input: dict, side: str, key: str) -> dict | None:
    """The first artifact under a key of the executor input's inputs or outputs, or None."""
    listing = executor_input.get(side, {}).get("artifacts", {}).get(key, {}).get("artifacts") or []
    return listing[0] if listing else None


def _model_ref(artifact: dict | None) -> model_gate.ModelRef | None:
    if artifact is None:
        return None
    trained = artifact.get("metadata", {}).get(training_statistics.TRAINED_MODEL, "")
    return model_gate.ModelRef(artifact["uri"], trained)


def _report_outputs(executor_input: dict, metadata: dict[str, dict]) -> None:
    """Writes ExecutorOutput: each output artifact (its name and URI as given) with its metadata."""
    output = {"artifacts": {}}
    for key, values in metadata.items():
        given = _artifact(executor_input, "outputs", key)
        output["artifacts"][key] = {"artifacts": [{"name": given["name"], "uri": given["uri"], "metadata": values}]}
    import tensorflow as tf

    path = executor_input["outputs"]["outputFile"]
    tf.io.gfile.makedirs(path.rsplit("/", 1)[0])
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(json.dumps(output))


def _data_gate(arguments, executor_input: dict) -> int:
    from pipeline_tools.components import data_gate  # TFDV: only this step needs it.

    uri = {key: (_artifact(executor_input, "inputs", key) or {}).get("uri") for key in _GATE_INPUTS}
    found = data_gate.read_verdict(
        uri["anomalies"], uri["statistics"], uri["schema"], uri["baseline_model"], arguments.reference
    )
    try:
        data_gate.check(found)
    except data_gate.DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    print("data validation passed: no anomalies, no drift")
    return 0


def _training_statistics(arguments, executor_input: dict) -> int:
    trained = _artifact(executor_input, "inputs", "trained_model")["uri"]
    statistics = _artifact(executor_input, "inputs", "statistics")["uri"]
    output = _artifact(executor_input, "outputs", "model")["uri"]
    training_statistics.attach(trained, statistics, output)
    _report_outputs(executor_input, {"model": {training_statistics.TRAINED_MODEL: trained}})
    print(f"model with its training statistics: {output}")
    return 0


def _model_gate(arguments, executor_input: dict) -> int:
    model = _artifact(executor_input, "inputs", "model")
    candidate = _model_ref(model)
    served = _model_ref(_artifact(executor_input, "inputs", "baseline_model"))
    evaluation = _artifact(executor_input, "inputs", "evaluation")["uri"]
    rules = model_gate.Rules(arguments.min_auc, arguments.min_examples, arguments.min_positives)
    blessing = _artifact(executor_input, "outputs", "blessing")["uri"]
    properties = model_gate.judge(evaluation, rules, candidate, served, blessing)
    # On Vertex AI the Resolver finds the blessed model by its artifact's resource name.
    _report_outputs(executor_input, {"blessing": {**properties, "current_model_id": model["name"]}})
    return 0


def _endpoint_cleanup(arguments, executor_input: dict) -> int:
    from pipeline_tools.components import endpoint_cleanup

    endpoint_cleanup.clean_up(arguments.project, arguments.region, arguments.endpoint_name, arguments.keep_previous)
    return 0


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    gate = steps.add_parser("data-gate", help="anomalies and drift: exit status 1 on any problem")
    gate.add_argument("--reference", required=True, help="the reference statistics (before any model was served)")
    steps.add_parser("training-statistics", help="copy the trained model with its training statistics")
    gate_of_models = steps.add_parser("model-gate", help="bless the candidate model on evidence, or say why not")
    gate_of_models.add_argument("--min-auc", type=float, required=True, help="the AUC interval's floor (0.5: chance)")
    gate_of_models.add_argument("--min-examples", type=int, required=True, help="eval examples needed")
    gate_of_models.add_argument("--min-positives", type=int, required=True, help="disputed eval examples needed")
    cleanup = steps.add_parser("endpoint-cleanup", help="undeploy the endpoint's models at 0%% traffic")
    cleanup.add_argument("--project", required=True)
    cleanup.add_argument("--region", required=True)
    cleanup.add_argument("--endpoint-name", required=True, help="the endpoint's display name")
    cleanup.add_argument("--keep-previous", action="store_true", help="keep the newest model at 0%% traffic")
    for step in steps.choices.values():
        step.add_argument("--executor-input", required=True, help="the task's executor input as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    run = {
        "data-gate": _data_gate,
        "training-statistics": _training_statistics,
        "model-gate": _model_gate,
        "endpoint-cleanup": _endpoint_cleanup,
    }[arguments.step]
    return run(arguments, json.loads(arguments.executor_input))


if __name__ == "__main__":
    sys.exit(main())
