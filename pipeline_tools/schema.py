"""The curated schema and the reference statistics, made from data_local, reviewed, committed in schema/.

    python -m pipeline_tools.schema            # infer from data_local/, curate, write both files
    python -m pipeline_tools.schema --check    # exit 1 if a committed file differs from what this makes

The inference is SchemaGen's (TFDV statistics, then `infer_schema` with infer_feature_shape=False);
`curate` turns it into the reviewed schema. The pipeline reads that file with ImportSchemaGen,
ExampleValidator compares each split with it, and the data gate stops the run on what it finds.
Review the diff before committing a changed schema: it decides what the pipeline refuses.

The reference statistics (schema/reference_statistics.pbtxt) are data_local's, for the features the
schema compares for drift: until a model has been served, the gate compares new data with them;
afterwards with the statistics of the data the served model learned from.
"""

import argparse
import os
import sys
from collections.abc import Sequence

import tensorflow_data_validation as tfdv
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline_tools import columns, spans
from pipeline_tools.components.artifacts import read_schema, read_statistics
from pipeline_tools.components.data_gate import distances, drift_anomalies
from pipeline_tools.csv_check import csv_files
from pipeline_tools.settings import CURATED_SCHEMA_FILE, DATA_ROOT, REFERENCE_STATISTICS_FILE

TRAINING = "TRAINING"
SERVING = "SERVING"  # Requests to the pushed model: every feature but the label.
# Drift comparators, used by the gate between the eval and train splits, and between new data
# and the data the served model learned from (or the reference statistics). For categories, the
# largest change in one value's share of rows (L-infinity distance): one month of data_local
# against all of it moves a product's share by 4-13 points, an issue's by 1-14, a company response's
# by 1-5; a product going from 20% to 80% moves it by 60, "Payday loan" for every row by 99.
DRIFT_THRESHOLDS: dict[str, float] = {"product": 0.25, "issue": 0.25, "company_response": 0.25, "timely_response": 0.1}
# For the label, a number, the Jensen-Shannon divergence of its histogram: a month against all of
# data_local is at most 0.0064 (22% disputed against 27%); 0.02 is about 22% against 35%.
DIVERGENCE_THRESHOLDS: dict[str, float] = {columns.LABEL: 0.02}

HEADER = """\
# The curated schema of the tutorial's data. Made by python -m pipeline_tools.schema: the schema
# SchemaGen infers from data_local/, changed by pipeline_tools.schema.curate (required columns,
# closed and open categories, the label's domain and environments, drift comparators), then
# reviewed. The local notebook shows it beside the inferred one.
"""


def _curate_feature(feature: schema_pb2.Feature) -> None:
    """Applies the rules of `curate` to one feature, in place."""
    feature.ClearField("domain")
    feature.ClearField("domain_info")
    feature.presence.Clear()
    feature.presence.min_count = 1
    # One value per row; a blank field reaches the statistics as zero values.
    feature.value_count.Clear()
    feature.value_count.max = 1
    if feature.name in columns.COMPLETE:
        feature.presence.min_fraction = 1.0
        feature.value_count.min = 1
    if feature.name in columns.CLOSED_VALUES:
        feature.string_domain.value[:] = columns.CLOSED_VALUES[feature.name]
    if feature.name in DRIFT_THRESHOLDS:
        feature.drift_comparator.infinity_norm.threshold = DRIFT_THRESHOLDS[feature.name]
    if feature.name in DIVERGENCE_THRESHOLDS:
        feature.drift_comparator.jensen_shannon_divergence.threshold = DIVERGENCE_THRESHOLDS[feature.name]
    if feature.name == columns.LABEL:
        feature.type = schema_pb2.INT
        feature.int_domain.min = 0
        feature.int_domain.max = 1
        feature.int_domain.is_categorical = True
        feature.not_in_environment[:] = [SERVING]


def curate(inferred: schema_pb2.Schema) -> schema_pb2.Schema:
    """Returns the reviewed schema made from the one SchemaGen inferred.

    - Every column stays required (a missing column is an anomaly); the columns in
      columns.COMPLETE must have a value in every row, the others may be blank.
    - Open categories (product, issue, state, ...) lose the value lists inferred from one
      sample: new values are expected and go to the model's out-of-vocabulary buckets.
      company_response and timely_response keep closed lists (columns.CLOSED_VALUES).
    - The label must be 0 or 1, and is not part of the SERVING environment, so requests to
      the pushed model validate without it.
    - product, issue and the company's response get drift comparators (DRIFT_THRESHOLDS), the
      label a divergence comparator (DIVERGENCE_THRESHOLDS).
    """
    names = sorted(feature.name for feature in inferred.feature)
    if names != sorted(columns.ALL):
        raise ValueError(
            f"the inferred schema has features {names}, expected {sorted(columns.ALL)}: "
            "infer it from data in the tutorial's columns"
        )
    schema = schema_pb2.Schema()
    schema.CopyFrom(inferred)
    del schema.string_domain[:]
    # Features by name, so the curation of any inference of the same columns is the same file.
    ordered = sorted(
        (schema_pb2.Feature.FromString(f.SerializeToString()) for f in schema.feature), key=lambda f: f.name
    )
    del schema.feature[:]
    schema.feature.extend(ordered)
    schema.default_environment[:] = [TRAINING, SERVING]
    for feature in schema.feature:
        _curate_feature(feature)
    return schema


def _csv_pattern(data_root: str) -> str:
    """Every CSV file of data_root: in its span folders (data_local), or directly in it."""
    chosen = spans.available(data_root)
    if chosen:
        return os.path.join(data_root, "span-*", "*.csv")
    csv_files(data_root)  # Refuses a folder without CSV files, by name.
    return os.path.join(data_root, "*.csv")


def infer_and_curate(data_root: str) -> schema_pb2.Schema:
    """The curated schema for the CSV files in data_root."""
    statistics = tfdv.generate_statistics_from_csv(_csv_pattern(data_root))
    return curate(tfdv.infer_schema(statistics, infer_feature_shape=False))


def what_the_model_lacks(inferred: schema_pb2.Schema) -> list[str]:
    """What module.py cannot train on, read from a schema SchemaGen inferred: a column it reads that the
    data lacks, or a label that is not 0 or 1 in every row (an integer feature with a 0-1 or bool domain).
    The curated schema and the data gate refuse such data too, with everything else they check; this
    is only what would otherwise fail deep inside Transform or the Trainer."""
    found = {feature.name: feature for feature in inferred.feature}
    problems = [f"column {name!r} is missing: module.py reads it" for name in columns.ALL if name not in found]
    label = found.get(columns.LABEL)
    zero_or_one = label is not None and (
        label.HasField("bool_domain")
        or label.HasField("int_domain")
        and label.int_domain.min >= 0
        and label.int_domain.max <= 1
    )
    if label is not None and not (label.type == schema_pb2.INT and zero_or_one):
        kind = schema_pb2.FeatureType.Name(label.type)
        problems.append(
            f"{columns.LABEL} is not 0 or 1 in every row (SchemaGen found {kind} values"
            f"{'' if kind != 'INT' else ' other than 0 and 1'}); a CFPB export's Yes/No is converted by "
            "python -m pipeline_tools.prepare_data"
        )
    return problems


def compared_features() -> list[str]:
    """The features the curated schema compares for drift."""
    return sorted([*DRIFT_THRESHOLDS, *DIVERGENCE_THRESHOLDS])


def reference_statistics(data_root: str):
    """TFDV statistics of data_root for the compared features (as StatisticsGen computes them)."""
    options = tfdv.StatsOptions(feature_allowlist=compared_features())
    return tfdv.generate_statistics_from_csv(_csv_pattern(data_root), stats_options=options)


def read_curated() -> schema_pb2.Schema:
    """The committed curated schema."""
    return read_schema(CURATED_SCHEMA_FILE)


STATISTICS_HEADER = """\
# Statistics of data_local for the features schema/schema.pbtxt compares for drift, made by
# python -m pipeline_tools.schema. Until a model has been served, the data gate compares new data
# with these; afterwards with the statistics of the data the served model learned from.
"""


def statistics_differences(committed, made, curated: schema_pb2.Schema) -> list[str]:
    """What the gate would see differ between two statistics of the same data: the example count,
    or any drift distance above zero. Empty when they are the same for the gate, even where another
    TFDV release writes a histogram's buckets differently."""
    counts = [statistics.datasets[0].num_examples for statistics in (committed, made)]
    found = [f"examples: {counts[0]} committed, {counts[1]} made"] if counts[0] != counts[1] else []
    measured = drift_anomalies(committed, made, curated)
    moved = [
        info for info in measured.drift_skew_info for measurement in info.drift_measurements if measurement.value > 1e-9
    ]
    if moved or len(measured.drift_skew_info) != len(compared_features()):
        found += distances(measured) or ["no distance could be measured"]
    return found


def _check(path: str, made, read, curated: schema_pb2.Schema) -> list[str]:
    """Why the committed file at path is not what the data makes ([] when it is)."""
    if not os.path.isfile(path):
        return ["missing"]
    committed = read(path)
    if committed == made:
        return []
    if isinstance(made, schema_pb2.Schema):
        return ["the curated schema differs (python -m pipeline_tools.schema, then review the diff)"]
    return statistics_differences(committed, made, curated)


def main(argv: Sequence[str] | None = None) -> int:
    """Writes (or with --check compares) the curated schema and the reference statistics of a data folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=DATA_ROOT)
    parser.add_argument("--output", default=CURATED_SCHEMA_FILE, help="the curated schema")
    parser.add_argument("--statistics", default=REFERENCE_STATISTICS_FILE, help="the reference statistics")
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    made = {args.output: (HEADER, infer_and_curate(args.data_root), read_schema)}
    made[args.statistics] = (STATISTICS_HEADER, reference_statistics(args.data_root), read_statistics)
    status = 0
    curated = made[args.output][1]
    for path, (header, message, read) in made.items():
        if args.check:
            differences = _check(path, message, read, curated)
            print(
                f"{path} {'differs from' if differences else 'is'} what {args.data_root} makes"
                + "".join(f"\n  {line}" for line in differences),
                file=sys.stderr if differences else sys.stdout,
            )
            status = status or (1 if differences else 0)
            continue
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(header + text_format.MessageToString(message))
        print(f"wrote {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
