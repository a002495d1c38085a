"""What the pipeline checks before it transforms or trains: the curated schema and the data gate.

`curate_schema` turns the schema SchemaGen infers from the data into the reviewed one
committed as `schema/schema.pbtxt` (the notebook shows the two side by side). The pipeline
reads that file with ImportSchemaGen, ExampleValidator compares each split's statistics
with it, and the gate (`check_artifacts`) stops the run before Transform and Trainer when
ExampleValidator found anomalies or when the evaluation split drifted from the training
split, naming each feature and why.

This file imports no other file of the repository: on Vertex AI the gate runs it, as it is,
inside the stock TFX container (see `base_pipeline.py`).
"""

import argparse
import csv
import io
import os
import sys
from collections.abc import Sequence

import tensorflow as tf
import tensorflow_data_validation as tfdv
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

LABEL_KEY = "consumer_disputed"  # module.LABEL_KEY; a test keeps the two equal.
TRAINING = "TRAINING"
SERVING = "SERVING"  # Requests to the pushed model: every feature but the label.

# Every row must have these. The others are columns a CFPB export leaves blank at times.
COMPLETE_FEATURES = (
    "product",
    "issue",
    "consumer_complaint_narrative",
    "company",
    "company_response",
    "timely_response",
    LABEL_KEY,
)
# Closed sets: CFPB's eight answers (all eight occur in the shared 2020 sample), Yes/No.
CLOSED_DOMAINS: dict[str, tuple[str, ...]] = {
    "company_response": (
        "Closed",
        "Closed with explanation",
        "Closed with monetary relief",
        "Closed with non-monetary relief",
        "Closed with relief",
        "Closed without relief",
        "In progress",
        "Untimely response",
    ),
    "timely_response": ("No", "Yes"),
}
# The largest change in one value's share of rows (L-infinity distance) the gate lets pass
# between the training and evaluation splits. A hash split of this data moves a share by a
# few points; a product going from 20% to 80% of rows moves it by 60.
DRIFT_THRESHOLDS: dict[str, float] = {"product": 0.25, "company_response": 0.25}

FIX_HINT = (
    "Fix the data (scripts/prepare_data.py converts a CFPB export), or, if the change is "
    "intended, update schema/schema.pbtxt with data_validation.curate_schema and review the diff."
)


def check_csv_file(path: str) -> list[str]:
    """Raises ValueError at the first record CsvExampleGen cannot read; returns the header.

    CsvExampleGen reads one record per line, every line with the header's number of fields,
    as UTF-8. An unbalanced quote or a line break inside quotes makes a record span lines.
    """
    with open(path, "rb") as csv_file:
        data = csv_file.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path} line {line}: bytes that are not UTF-8 ({data[error.start : error.end]!r}); "
            "save the file as UTF-8 (scripts/prepare_data.py reports such records)"
        ) from None
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    last_line = 0
    for record in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if header is None:
            header = record
        elif last_line > first_line:
            raise ValueError(
                f"{path} lines {first_line}-{last_line}: one record spans several lines (an unbalanced "
                "quote, or a line break inside quotes); CsvExampleGen reads one record per line"
            )
        elif not record:
            raise ValueError(f"{path} line {first_line}: a blank line; CsvExampleGen needs a record on every line")
        elif len(record) != len(header):
            raise ValueError(f"{path} line {first_line}: {len(record)} fields, the header has {len(header)}")
    if header is None:
        raise ValueError(f"{path} is empty: CsvExampleGen needs a header line and data rows")
    if last_line < 2:
        raise ValueError(f"{path} holds a header and no data rows")
    return header


def check_csv_folder(folder: str) -> None:
    """check_csv_file for each .csv in folder, and the same header in all of them."""
    headers = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".csv"):
            headers[name] = check_csv_file(os.path.join(folder, name))
    if len({tuple(header) for header in headers.values()}) > 1:
        first, *others = headers
        different = next(name for name in others if headers[name] != headers[first])
        raise ValueError(
            f"{os.path.join(folder, different)} has columns {headers[different]}, but "
            f"{os.path.join(folder, first)} has {headers[first]}: CsvExampleGen needs one header for all files"
        )


def default_schema_file() -> str:
    """The committed curated schema, beside this file."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema", "schema.pbtxt")


def curate_schema(inferred: schema_pb2.Schema) -> schema_pb2.Schema:
    """Returns the reviewed schema made from the one SchemaGen inferred.

    - Every column stays required (a missing column is an anomaly); the columns in
      COMPLETE_FEATURES must have a value in every row, the others may be blank.
    - Open categories (product, issue, state, ...) lose the value lists inferred from one
      sample: new values are expected and go to the model's out-of-vocabulary buckets.
      company_response and timely_response keep closed lists (CLOSED_DOMAINS).
    - The label must be 0 or 1, and is not part of the SERVING environment, so requests to
      the pushed model validate without it.
    - product and company_response get drift comparators (DRIFT_THRESHOLDS).
    """
    names = [feature.name for feature in inferred.feature]
    expected = set(COMPLETE_FEATURES) | {"sub_product", "sub_issue", "state", "zip_code"}
    if set(names) != expected:
        raise ValueError(
            f"the inferred schema has features {sorted(names)}, expected {sorted(expected)}: "
            "infer it from data in the tutorial's columns"
        )
    schema = schema_pb2.Schema()
    schema.CopyFrom(inferred)
    del schema.string_domain[:]
    # Features by name, so the curation of any inference of the same columns is the same file.
    ordered = sorted(
        (schema_pb2.Feature.FromString(feature.SerializeToString()) for feature in schema.feature),
        key=lambda feature: feature.name,
    )
    del schema.feature[:]
    schema.feature.extend(ordered)
    schema.default_environment[:] = [TRAINING, SERVING]
    for feature in schema.feature:
        feature.ClearField("domain")
        feature.ClearField("domain_info")
        feature.presence.Clear()
        feature.presence.min_count = 1
        if feature.name in COMPLETE_FEATURES:
            feature.presence.min_fraction = 1.0
        # One value per row; a blank field reaches the statistics as zero values.
        feature.value_count.Clear()
        feature.value_count.max = 1
        if feature.name in COMPLETE_FEATURES:
            feature.value_count.min = 1
        if feature.name in CLOSED_DOMAINS:
            feature.string_domain.value[:] = CLOSED_DOMAINS[feature.name]
        if feature.name in DRIFT_THRESHOLDS:
            feature.drift_comparator.infinity_norm.threshold = DRIFT_THRESHOLDS[feature.name]
        if feature.name == LABEL_KEY:
            feature.type = schema_pb2.INT
            feature.int_domain.min = 0
            feature.int_domain.max = 1
            feature.int_domain.is_categorical = True
            feature.not_in_environment[:] = [SERVING]
    return schema


def read_schema(path: str) -> schema_pb2.Schema:
    """Reads a schema.pbtxt (local or gs://)."""
    with tf.io.gfile.GFile(path) as schema_file:
        return text_format.Parse(schema_file.read(), schema_pb2.Schema())


def schema_text(schema: schema_pb2.Schema) -> str:
    """The schema as committed: text format."""
    return text_format.MessageToString(schema)


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
