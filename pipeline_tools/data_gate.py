"""The data gate: stops a run before Transform and Trainer when the data broke the schema or drifted.

ExampleValidator compares each split's statistics with the schema and writes anomalies; the gate
(`check_artifacts`) reads them, adds the drift of the eval split against the train split (the
schema's drift comparators), and raises `DataValidationError` listing every feature and why.

This file imports nothing of the repository: on Vertex AI the gate is a container component
whose command runs this very source in the stock TFX image (see `base_pipeline.py`), and
locally it is a Python function component that calls `check_artifacts`.
"""

import argparse
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


def read_schema(path: str) -> schema_pb2.Schema:
    """Reads a schema.pbtxt (local or gs://)."""
    with tf.io.gfile.GFile(path) as schema_file:
        return text_format.Parse(schema_file.read(), schema_pb2.Schema())


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


def drift_anomalies(
    baseline: statistics_pb2.DatasetFeatureStatisticsList,
    current: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
) -> anomalies_pb2.Anomalies:
    """The schema's drift comparators applied to current against baseline, and nothing else."""
    comparators_only = schema_pb2.Schema()
    for feature in schema.feature:
        if feature.HasField("drift_comparator"):
            kept = comparators_only.feature.add(name=feature.name, type=feature.type)
            kept.drift_comparator.CopyFrom(feature.drift_comparator)
    anomalies = tfdv.validate_statistics(current, comparators_only, previous_statistics=baseline)
    # Keep the comparator findings only; the full schema checks are ExampleValidator's.
    drifted = anomalies_pb2.Anomalies()
    for name, info in anomalies.anomaly_info.items():
        if any(reason.type in _DRIFT_TYPES for reason in info.reason):
            drifted.anomaly_info[name].CopyFrom(info)
    return drifted


_DRIFT_TYPES = {
    anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH,
}


def _split_folders(artifact_uri: str) -> dict[str, str]:
    """{split name: folder} of an artifact written per split (Split-train, Split-eval)."""
    return {
        name.rstrip("/")[len("Split-") :]: os.path.join(artifact_uri, name.rstrip("/"))
        for name in tf.io.gfile.listdir(artifact_uri)
        if name.startswith("Split-")
    }


def _read_binary(path: str, message):
    with tf.io.gfile.GFile(path, "rb") as binary_file:
        message.ParseFromString(binary_file.read())
    return message


def read_split_statistics(statistics_uri: str) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """{split: statistics} of a StatisticsGen output folder (local or gs://)."""
    return {
        split: _read_binary(os.path.join(folder, "FeatureStats.pb"), statistics_pb2.DatasetFeatureStatisticsList())
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


def schema_problems(
    statistics: dict[str, statistics_pb2.DatasetFeatureStatisticsList], schema: schema_pb2.Schema
) -> list[str]:
    """The gate's verdict computed from statistics alone: each split against the schema (what
    ExampleValidator reports), then drift against train. The notebook checks its data with it."""
    problems: list[str] = []
    for split, split_statistics in statistics.items():
        anomalies = tfdv.validate_statistics(split_statistics, schema, environment="TRAINING")
        problems += describe_anomalies(anomalies, f"split {split!r}")
    return problems + drift_problems(statistics, schema)


def _only_file(folder: str) -> str:
    files = [name for name in tf.io.gfile.listdir(folder) if not name.endswith("/")]
    if len(files) != 1:
        raise ValueError(f"expected one file in {folder}, found {files}")
    return os.path.join(folder, files[0])


def find_problems(anomalies_uri: str, statistics_uri: str, schema_uri: str, baseline_split: str = "train") -> list[str]:
    """What the gate reports: ExampleValidator's anomalies per split, then drift against train.

    The URIs are the artifacts' folders (local or gs://): ExampleValidator's anomalies,
    StatisticsGen's statistics and the schema the validator used.
    """
    problems: list[str] = []
    for split, anomalies in read_split_anomalies(anomalies_uri).items():
        problems += describe_anomalies(anomalies, f"split {split!r}")
    schema = read_schema(_only_file(schema_uri))
    return problems + drift_problems(read_split_statistics(statistics_uri), schema, baseline_split)


class DataValidationError(RuntimeError):
    """The data broke the schema or drifted: the run stops before Transform and Trainer."""


def gate_message(problems: Sequence[str]) -> str:
    """The error the gate raises, one problem per line."""
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"The data failed validation, so the run stops before Transform and Trainer:\n{lines}\n{FIX_HINT}"


def check_artifacts(anomalies_uri: str, statistics_uri: str, schema_uri: str) -> None:
    """The gate: raises DataValidationError listing every problem, or returns."""
    problems = find_problems(anomalies_uri, statistics_uri, schema_uri)
    if problems:
        raise DataValidationError(gate_message(problems))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the gate, as the Vertex AI task runs it: exit status 1 on a problem."""
    parser = argparse.ArgumentParser(description="Stops a pipeline run on data anomalies or drift.")
    parser.add_argument("--anomalies", required=True, help="ExampleValidator's anomalies folder")
    parser.add_argument("--statistics", required=True, help="StatisticsGen's statistics folder")
    parser.add_argument("--schema", required=True, help="the schema folder ExampleValidator used")
    args = parser.parse_args(argv)
    try:
        check_artifacts(args.anomalies, args.statistics, args.schema)
    except DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    print("data validation passed: no anomalies, no drift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
