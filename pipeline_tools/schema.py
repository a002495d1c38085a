"""The curated schema: made from the one SchemaGen infers, reviewed, committed as schema/schema.pbtxt.

    python -m pipeline_tools.schema            # infer from data_local/, curate, write schema/schema.pbtxt
    python -m pipeline_tools.schema --check    # exit 1 if the committed file differs

The inference is SchemaGen's (TFDV statistics, then `infer_schema` with infer_feature_shape=False);
`curate` turns it into the reviewed schema. The pipeline reads that file with ImportSchemaGen,
ExampleValidator compares each split with it, and the data gate stops the run on what it finds.
Review the diff before committing a changed schema: it decides what the pipeline refuses.
"""

import argparse
import os
import sys
from collections.abc import Sequence

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline_tools import columns
from pipeline_tools.csv_check import csv_files
from pipeline_tools.data_gate import read_schema
from pipeline_tools.settings import CURATED_SCHEMA_FILE, DATA_ROOT

TRAINING = "TRAINING"
SERVING = "SERVING"  # Requests to the pushed model: every feature but the label.
# The largest change in one value's share of rows (L-infinity distance) the gate lets pass
# between the training and evaluation splits. A hash split of this data moves a share by a
# few points; a product going from 20% to 80% of rows moves it by 60.
DRIFT_THRESHOLDS: dict[str, float] = {"product": 0.25, "company_response": 0.25}

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
    - product and company_response get drift comparators (DRIFT_THRESHOLDS).
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


def infer_and_curate(data_root: str) -> schema_pb2.Schema:
    """The curated schema for the CSV files in data_root."""
    import tensorflow_data_validation as tfdv

    csv_files(data_root)  # Refuses a folder without CSV files, by name.
    statistics = tfdv.generate_statistics_from_csv(os.path.join(data_root, "*.csv"))
    return curate(tfdv.infer_schema(statistics, infer_feature_shape=False))


def read_curated() -> schema_pb2.Schema:
    """The committed curated schema."""
    return read_schema(CURATED_SCHEMA_FILE)


def schema_text(schema: schema_pb2.Schema) -> str:
    """The schema as committed: text format."""
    return text_format.MessageToString(schema)


def main(argv: Sequence[str] | None = None) -> int:
    """Writes (or with --check compares) the curated schema of a data folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=DATA_ROOT)
    parser.add_argument("--output", default=CURATED_SCHEMA_FILE)
    parser.add_argument("--check", action="store_true", help="compare with --output instead of writing it")
    args = parser.parse_args(argv)
    schema = infer_and_curate(args.data_root)
    if args.check:
        if read_schema(args.output) != schema:
            print(f"{args.output} differs from the curated schema of {args.data_root}", file=sys.stderr)
            return 1
        print(f"{args.output} is the curated schema of {args.data_root}")
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as schema_file:
        schema_file.write(HEADER + schema_text(schema))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
