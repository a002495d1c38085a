"""The data gate: stops a run before Transform and Trainer when the data broke the schema or drifted.

ExampleValidator compares each split's statistics with the schema and writes anomalies. The gate
(`check_artifacts`) reads them and adds the drift the schema's comparators measure (L-infinity
for categories, Jensen-Shannon divergence for the label):
  - of the eval split against the train split;
  - of this run's train split against the data the served model learned from: the latest
    blessed model (the Resolver's baseline) carries those statistics (`attach_training_statistics`,
    after the Trainer); before any model was blessed, against reference statistics committed
    next to the curated schema.
It prints every distance it measured and raises `DataValidationError` listing every feature over
its threshold.

This file imports nothing of the repository: on Vertex AI the gate and the statistics record are
container components whose command runs this very source in the stock TFX image (see
`base_pipeline.py`); locally they are a Python function component (the gate) and a custom
component (the statistics record) that call the functions below.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence

import tensorflow as tf
import tensorflow_data_validation as tfdv
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

FIX_HINT = (
    "Fix the data (python -m pipeline_tools.prepare_data converts a CFPB export), or, if the change is "
    "intended, remake schema/schema.pbtxt with python -m pipeline_tools.schema and review the diff."
)
# Where a model carries the statistics of the data it learned from (StatisticsGen's layout).
TRAINING_STATISTICS = "training_statistics"
_DRIFT_TYPES = {
    anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH,
}


class DataValidationError(RuntimeError):
    """The data broke the schema or drifted: the run stops before Transform and Trainer."""


def read_schema(path: str) -> schema_pb2.Schema:
    """Reads a schema.pbtxt (local or gs://)."""
    with tf.io.gfile.GFile(path) as schema_file:
        return text_format.Parse(schema_file.read(), schema_pb2.Schema())


def _read_binary(path: str, message):
    with tf.io.gfile.GFile(path, "rb") as binary_file:
        message.ParseFromString(binary_file.read())
    return message


def read_statistics(path: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Reads statistics saved as text (.pbtxt) or binary (FeatureStats.pb), local or gs://."""
    if path.endswith(".pbtxt"):
        with tf.io.gfile.GFile(path) as handle:
            return text_format.Parse(handle.read(), statistics_pb2.DatasetFeatureStatisticsList())
    return _read_binary(path, statistics_pb2.DatasetFeatureStatisticsList())


def _reason_text(reason: anomalies_pb2.AnomalyInfo.Reason) -> str:
    if reason.description.startswith(reason.short_description):
        return reason.description
    return f"{reason.short_description}: {reason.description}"


def describe_anomalies(anomalies: anomalies_pb2.Anomalies, where: str) -> list[str]:
    """One line per feature: where, which feature, and TFDV's reasons."""
    lines = []
    for name, info in sorted(anomalies.anomaly_info.items()):
        reasons = "; ".join(_reason_text(reason) for reason in info.reason) or info.description
        lines.append(f"{where}, feature {name!r}: {reasons}")
    if anomalies.HasField("dataset_anomaly_info"):
        reasons = "; ".join(reason.description for reason in anomalies.dataset_anomaly_info.reason)
        lines.append(f"{where}, whole dataset: {reasons}")
    return lines


def _comparators_only(schema: schema_pb2.Schema) -> schema_pb2.Schema:
    """The schema's features that have a drift comparator, with nothing but that comparator."""
    kept = schema_pb2.Schema()
    for feature in schema.feature:
        if feature.HasField("drift_comparator"):
            copy = kept.feature.add(name=feature.name, type=feature.type)
            copy.drift_comparator.CopyFrom(feature.drift_comparator)
    return kept


def drift_anomalies(
    baseline: statistics_pb2.DatasetFeatureStatisticsList,
    current: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
) -> anomalies_pb2.Anomalies:
    """The schema's drift comparators applied to current against baseline: the findings, and
    every distance measured (`drift_skew_info`), nothing else (the full checks are ExampleValidator's)."""
    anomalies = tfdv.validate_statistics(current, _comparators_only(schema), previous_statistics=baseline)
    drifted = anomalies_pb2.Anomalies()
    for name, info in anomalies.anomaly_info.items():
        if any(reason.type in _DRIFT_TYPES for reason in info.reason):
            drifted.anomaly_info[name].CopyFrom(info)
    drifted.drift_skew_info.extend(anomalies.drift_skew_info)
    return drifted


def distances(anomalies: anomalies_pb2.Anomalies) -> list[str]:
    """Each measured distance against its threshold, as 'product: L-infinity 0.046 (at most 0.25)'."""
    names = {"L_INFTY": "L-infinity", "JENSEN_SHANNON_DIVERGENCE": "Jensen-Shannon divergence"}
    lines = []
    for info in sorted(anomalies.drift_skew_info, key=lambda info: ".".join(info.path.step)):
        for measurement in info.drift_measurements:
            kind = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(measurement.type)
            lines.append(
                f"{'.'.join(info.path.step)}: {names.get(kind, kind)} {measurement.value:.4g} "
                f"(at most {measurement.threshold:g})"
            )
    return lines


def _split_folders(artifact_uri: str) -> dict[str, str]:
    """{split name: folder} of an artifact written per split (Split-train, Split-eval)."""
    return {
        name.rstrip("/")[len("Split-") :]: os.path.join(artifact_uri, name.rstrip("/"))
        for name in tf.io.gfile.listdir(artifact_uri)
        if name.startswith("Split-")
    }


def read_split_statistics(statistics_uri: str) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """{split: statistics} of a StatisticsGen output folder (local or gs://)."""
    return {
        split: read_statistics(os.path.join(folder, "FeatureStats.pb"))
        for split, folder in sorted(_split_folders(statistics_uri).items())
    }


def read_split_anomalies(anomalies_uri: str) -> dict[str, anomalies_pb2.Anomalies]:
    """{split: anomalies} of an ExampleValidator output folder (local or gs://)."""
    return {
        split: _read_binary(os.path.join(folder, "SchemaDiff.pb"), anomalies_pb2.Anomalies())
        for split, folder in sorted(_split_folders(anomalies_uri).items())
    }


def drift_problems(
    statistics: dict[str, statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema,
    baseline_split: str = "train",
) -> list[str]:
    """The drift of every other split against baseline_split, one line per drifted feature."""
    problems: list[str] = []
    if baseline_split in statistics:
        for split in sorted(set(statistics) - {baseline_split}):
            drifted = drift_anomalies(statistics[baseline_split], statistics[split], schema)
            problems += describe_anomalies(drifted, f"split {split!r} against {baseline_split!r}")
    return problems


def served_statistics(
    baseline_model_uri: str | None, reference_path: str
) -> tuple[statistics_pb2.DatasetFeatureStatisticsList, str]:
    """What new data is compared with, and its name: the training statistics the served (latest
    blessed) model carries, or, before any model was blessed, the reference statistics."""
    if baseline_model_uri:
        carried = os.path.join(baseline_model_uri, TRAINING_STATISTICS)
        if tf.io.gfile.isdir(carried):
            return read_split_statistics(carried)["train"], "the data the served model learned from"
    return read_statistics(reference_path), "the reference statistics (no model was served yet)"


def schema_problems(
    statistics: dict[str, statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema,
    served: tuple[statistics_pb2.DatasetFeatureStatisticsList, str] | None = None,
) -> tuple[list[str], list[str]]:
    """The gate's verdict computed from statistics alone (what ExampleValidator, then the gate, find):
    each split against the schema, drift of eval against train, and of train against `served`.
    Returns (problems, distances measured against `served`). The notebook checks its data with it."""
    problems: list[str] = []
    for split, split_statistics in statistics.items():
        anomalies = tfdv.validate_statistics(split_statistics, schema, environment="TRAINING")
        problems += describe_anomalies(anomalies, f"split {split!r}")
    problems += drift_problems(statistics, schema)
    if served is None or "train" not in statistics:
        return problems, []
    served_problems, measured = served_drift(statistics["train"], schema, served)
    return problems + served_problems, measured


def served_drift(
    train: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
    served: tuple[statistics_pb2.DatasetFeatureStatisticsList, str],
) -> tuple[list[str], list[str]]:
    """Drift of this run's train split against `served` ((statistics, name), see served_statistics):
    (problems, the distances measured, under a heading that names what was compared)."""
    baseline, name = served
    drifted = drift_anomalies(baseline, train, schema)
    measured = [f"against {name}:"] + [f"  {line}" for line in distances(drifted)]
    return describe_anomalies(drifted, f"split 'train' against {name}"), measured


def find_problems(
    anomalies_uri: str,
    statistics_uri: str,
    schema_uri: str,
    baseline_model_uri: str | None = None,
    reference_path: str | None = None,
) -> tuple[list[str], list[str]]:
    """What the gate reports, from the artifacts' folders (local or gs://): ExampleValidator's
    anomalies per split, drift against train, and (with reference_path) drift against the served
    data. Returns (problems, distances measured)."""
    problems: list[str] = []
    for split, anomalies in read_split_anomalies(anomalies_uri).items():
        problems += describe_anomalies(anomalies, f"split {split!r}")
    schema = read_schema(_only_file(schema_uri))
    statistics = read_split_statistics(statistics_uri)
    problems += drift_problems(statistics, schema)
    if not reference_path:
        return problems, []
    served = served_statistics(baseline_model_uri, reference_path)
    served_problems, measured = served_drift(statistics["train"], schema, served)
    return problems + served_problems, measured


def _only_file(folder: str) -> str:
    files = [name for name in tf.io.gfile.listdir(folder) if not name.endswith("/")]
    if len(files) != 1:
        raise ValueError(f"expected one file in {folder}, found {files}")
    return os.path.join(folder, files[0])


def gate_message(problems: Sequence[str]) -> str:
    """The error the gate raises, one problem per line."""
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"The data failed validation, so the run stops before Transform and Trainer:\n{lines}\n{FIX_HINT}"


def check_artifacts(
    anomalies_uri: str,
    statistics_uri: str,
    schema_uri: str,
    baseline_model_uri: str | None = None,
    reference_path: str | None = None,
) -> None:
    """The gate: prints the distances it measured, raises DataValidationError listing every problem."""
    problems, measured = find_problems(anomalies_uri, statistics_uri, schema_uri, baseline_model_uri, reference_path)
    if measured:
        print("drift " + "\n".join(measured), flush=True)
    if problems:
        raise DataValidationError(gate_message(problems))


def attach_training_statistics(model_uri: str, statistics_uri: str, output_uri: str) -> None:
    """Copies a trained model and puts beside it the statistics of the data it learned from.

    As InfraValidator adds warm-up requests to a model, so that a later run's gate can compare new
    data with what the served model learned from (TRAINING_STATISTICS, StatisticsGen's layout).
    """

    def copy_tree(source: str, target: str) -> None:
        tf.io.gfile.makedirs(target)
        for name in tf.io.gfile.listdir(source):
            name = name.rstrip("/")
            path = os.path.join(source, name)
            if tf.io.gfile.isdir(path):
                copy_tree(path, os.path.join(target, name))
            else:
                tf.io.gfile.copy(path, os.path.join(target, name), overwrite=True)

    copy_tree(model_uri, output_uri)
    copy_tree(statistics_uri, os.path.join(output_uri, TRAINING_STATISTICS))


def _uris(executor_input: dict, side: str) -> dict[str, str | None]:
    """{key: uri of its first artifact, or None} of a Vertex AI executor input's inputs or outputs."""
    artifacts = executor_input.get(side, {}).get("artifacts", {})
    return {key: (listing.get("artifacts") or [{}])[0].get("uri") for key, listing in artifacts.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the two container steps, as Vertex AI runs them (executor input as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["gate", "attach"])
    parser.add_argument(
        "--executor-input",
        required=True,
        help="the task's executor input as JSON, which Vertex AI puts in place of the command's last argument",
    )
    parser.add_argument("--reference", help="the reference statistics (gate)")
    args = parser.parse_args(argv)
    executor_input = json.loads(args.executor_input)
    inputs, outputs = _uris(executor_input, "inputs"), _uris(executor_input, "outputs")
    if args.step == "attach":
        attach_training_statistics(inputs["trained_model"], inputs["statistics"], outputs["model"])
        print(f"model with its training statistics: {outputs['model']}")
        return 0
    try:
        check_artifacts(
            inputs["anomalies"], inputs["statistics"], inputs["schema"], inputs.get("baseline_model"), args.reference
        )
    except DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    print("data validation passed: no anomalies, no drift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
