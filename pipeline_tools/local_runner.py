"""Runs the whole pipeline on this machine with LocalDagRunner, without a notebook.

    python -m pipeline_tools.local_runner --output-root outputs/pipeline_local --train-steps 1000
    python -m pipeline_tools.local_runner --spans 201503-201511   # data_local's months up to November
    python -m pipeline_tools.local_runner --next-span             # then December: the month after the last run's

ML Metadata lives in a SQLite file under the output root and caching is on, so a second run
with unchanged inputs reuses every component's earlier outputs. Every setting of
`PipelineSettings` is a flag (`--help` lists them with their defaults).
"""

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

from pipeline_tools.settings import (  # noqa: E402
    DATA_ROOT,
    LOCAL_BEAM_PIPELINE_ARGS,
    MODULE_FILE,
    REPO_ROOT,
    PipelineSettings,
    add_arguments,
    from_arguments,
)

DEFAULT_OUTPUT_ROOT = os.path.join(REPO_ROOT, "outputs", "pipeline_local")


def parse_arguments(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line: where the data and outputs are, and one flag per pipeline setting."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-root",
        default=DATA_ROOT,
        help="folder of CSV files, or of span-YYYYMM folders (default: data_local/, one folder per month)",
    )
    parser.add_argument(
        "--output-root",
        default=DEFAULT_OUTPUT_ROOT,
        help="pipeline root, metadata.sqlite and serving_model/ go here (default: outputs/pipeline_local/)",
    )
    add_arguments(parser, PipelineSettings)
    parser.add_argument(
        "--validate-only",
        action="store_true",
        help="run only ExampleGen, StatisticsGen, the schema, ExampleValidator and the gate",
    )
    parser.add_argument(
        "--next-span",
        action="store_true",
        help="learn from every span up to the first one newer than the last run's (the data that arrived since)",
    )
    parser.add_argument(
        "--fail-if-not-blessed",
        action="store_true",
        help="exit with status 2 when the Evaluator does not bless the model (for CI and schedulers)",
    )
    parser.add_argument(
        "--beam-arg",
        action="append",
        dest="beam_args",
        metavar="ARG",
        help="a Beam option (none by default: DirectRunner in this process), e.g. "
        "--beam-arg=--direct_running_mode=multi_processing --beam-arg=--direct_num_workers=2",
    )
    return parser, parser.parse_args(argv)


def last_trained_span(metadata_path: str) -> int:
    """The newest span the latest ExampleGen run of this output root read (ValueError if there is none)."""
    from pipeline_tools import metadata

    for run in reversed(metadata.runs(metadata_path) if os.path.isfile(metadata_path) else []):
        examples = run.output("CsvExampleGen", "examples")
        if examples is not None and metadata.property_value(examples, "span"):
            return int(metadata.property_value(examples, "span"))
    raise ValueError(f"--next-span: no earlier run read spans into {metadata_path}; run once without it first")


def build(arguments: argparse.Namespace):
    """The pipeline the arguments describe, with a SQLite ML Metadata store in the output root."""
    from tfx.orchestration.metadata import sqlite_metadata_connection_config

    import base_pipeline
    from pipeline_tools import spans

    settings = from_arguments(PipelineSettings, arguments)
    output_root = os.path.abspath(arguments.output_root)
    data_root = os.path.abspath(arguments.data_root)
    metadata_path = os.path.join(output_root, "metadata.sqlite")
    if arguments.next_span:
        chosen = spans.next_range(spans.available(data_root), last_trained_span(metadata_path))
        settings = dataclasses.replace(settings, spans=spans.text(chosen))
    settings, data_root = spans.input_for(settings, data_root, output_root)
    if settings.spans:
        print(f"spans {settings.spans} of {os.path.abspath(arguments.data_root)}, staged in {data_root}")
    return base_pipeline.create_pipeline(
        settings,
        pipeline_root=os.path.join(output_root, "pipeline_root"),
        data_root=data_root,
        module_file=MODULE_FILE,
        serving_model_dir=os.path.join(output_root, "serving_model"),
        beam_pipeline_args=arguments.beam_args or LOCAL_BEAM_PIPELINE_ARGS,
        metadata_connection_config=sqlite_metadata_connection_config(metadata_path),
        validate_only=arguments.validate_only,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the pipeline to completion and says what it decided; 1 when the gate stops it, 2 when the
    model was not blessed and --fail-if-not-blessed asks for that to fail."""
    parser, arguments = parse_arguments(argv)
    try:
        pipeline = build(arguments)
    except ValueError as error:
        parser.error(str(error))
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from pipeline_tools.components.data_gate import DataValidationError

    try:
        LocalDagRunner().run(pipeline)
    except DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    if arguments.validate_only:
        print("data validation passed: no anomalies, no drift")
        return 0
    from pipeline_tools import metadata, outcome

    output_root = os.path.abspath(arguments.output_root)
    latest = metadata.runs(os.path.join(output_root, "metadata.sqlite"))[-1]
    result = outcome.Outcome.of_run(latest, os.path.join(output_root, "serving_model"))
    print(f"pipeline finished.\n{result}")
    return 2 if arguments.fail_if_not_blessed and not result.verdict.blessed else 0


if __name__ == "__main__":
    sys.exit(main())
