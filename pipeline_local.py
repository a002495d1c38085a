"""Runs the whole pipeline on this machine with LocalDagRunner, without a notebook.

    python pipeline_local.py --output-root outputs/pipeline_local --train-steps 1000

ML Metadata lives in a SQLite file under the output root and caching is on, so a second run
with unchanged inputs reuses every component's earlier outputs.
"""

import argparse
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

from tfx import v1 as tfx  # noqa: E402

import base_pipeline  # noqa: E402
import data_validation  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))


def main(argv: Sequence[str] | None = None) -> int:
    """Parses the command line, builds the pipeline and runs it to completion."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=os.path.join(REPO_ROOT, "data_local"))
    parser.add_argument(
        "--output-root",
        default=os.path.join(REPO_ROOT, "outputs", "pipeline_local"),
        help="pipeline root, metadata.sqlite and serving_model/ go here",
    )
    parser.add_argument("--train-steps", type=int, default=base_pipeline.TRAIN_STEPS)
    parser.add_argument("--eval-steps", type=int, default=base_pipeline.EVAL_STEPS)
    parser.add_argument("--min-eval-auc", type=float, default=base_pipeline.MIN_EVAL_AUC)
    parser.add_argument("--max-auc-decrease", type=float, default=base_pipeline.MAX_AUC_DECREASE)
    parser.add_argument("--no-cache", action="store_true", help="run every component again")
    parser.add_argument(
        "--presplit",
        action="store_true",
        help="data root holds train/ and eval/ folders: use that split instead of hashing rows",
    )
    parser.add_argument(
        "--schema-file",
        default=base_pipeline.CURATED_SCHEMA_FILE,
        help="the curated schema ImportSchemaGen reads (default: schema/schema.pbtxt)",
    )
    parser.add_argument(
        "--infer-schema",
        action="store_true",
        help="infer the schema from the data with SchemaGen instead of reading --schema-file",
    )
    parser.add_argument(
        "--no-data-gate", action="store_true", help="report data anomalies and drift without stopping before Transform"
    )
    parser.add_argument(
        "--validate-only",
        action="store_true",
        help="run only ExampleGen, StatisticsGen, the schema, ExampleValidator and the gate",
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        dest="beam_args",
        metavar="ARG",
        help="a Beam option replacing the in-process defaults, e.g. "
        "--beam-arg=--direct_running_mode=multi_processing --beam-arg=--direct_num_workers=2",
    )
    args = parser.parse_args(argv)

    output_root = os.path.abspath(args.output_root)
    try:
        pipeline = base_pipeline.create_pipeline(
            pipeline_root=os.path.join(output_root, "pipeline_root"),
            data_root=os.path.abspath(args.data_root),
            module_file=os.path.join(REPO_ROOT, "module.py"),
            serving_model_dir=os.path.join(output_root, "serving_model"),
            train_steps=args.train_steps,
            eval_steps=args.eval_steps,
            min_eval_auc=args.min_eval_auc,
            max_auc_decrease=args.max_auc_decrease,
            beam_pipeline_args=args.beam_args or base_pipeline.LOCAL_BEAM_PIPELINE_ARGS,
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                os.path.join(output_root, "metadata.sqlite")
            ),
            enable_cache=not args.no_cache,
            presplit=args.presplit,
            schema_file=None if args.infer_schema else os.path.abspath(args.schema_file),
            stop_on_data_problems=not args.no_data_gate,
            validate_only=args.validate_only,
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        tfx.orchestration.LocalDagRunner().run(pipeline)
    except data_validation.DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    if args.validate_only:
        print("data validation passed: no anomalies, no drift")
        return 0
    print(f"pipeline finished; blessed models are pushed under {output_root}/serving_model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
