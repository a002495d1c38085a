"""Writes schema/schema.pbtxt: the schema inferred from the data, curated by data_validation.

    python scripts/curate_schema.py            # infer from data_local/, curate, write
    python scripts/curate_schema.py --check    # exit 1 if the committed file differs

The inference is SchemaGen's (TFDV statistics, then `infer_schema` with
infer_feature_shape=False); the curation is `data_validation.curate_schema`. Review the diff
before committing a changed schema: it decides what the pipeline refuses.
"""

import argparse
import glob
import os
import sys
from collections.abc import Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import tensorflow_data_validation as tfdv  # noqa: E402

import data_validation  # noqa: E402

HEADER = """\
# The curated schema of the tutorial's data. Made by scripts/curate_schema.py: the schema
# SchemaGen infers from data_local/, changed by data_validation.curate_schema (required
# columns, closed and open categories, the label's domain and environments, drift
# comparators), then reviewed. The local notebook shows it beside the inferred one.
"""


def infer_and_curate(data_root: str):
    """The curated schema for the CSV files in data_root."""
    files = sorted(glob.glob(os.path.join(data_root, "*.csv")))
    if not files:
        raise ValueError(f"{data_root!r} holds no .csv file")
    statistics = tfdv.generate_statistics_from_csv(os.path.join(data_root, "*.csv"))
    return data_validation.curate_schema(tfdv.infer_schema(statistics, infer_feature_shape=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=os.path.join(REPO_ROOT, "data_local"))
    parser.add_argument("--output", default=data_validation.default_schema_file())
    parser.add_argument("--check", action="store_true", help="compare with --output instead of writing it")
    args = parser.parse_args(argv)
    schema = infer_and_curate(args.data_root)
    if args.check:
        committed = data_validation.read_schema(args.output)
        if committed != schema:
            print(f"{args.output} differs from the curated schema of {args.data_root}", file=sys.stderr)
            return 1
        print(f"{args.output} is the curated schema of {args.data_root}")
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as schema_file:
        schema_file.write(HEADER + data_validation.schema_text(schema))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
