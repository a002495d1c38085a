"""Every setting of the pipeline in one typed, frozen object: its default, its meaning and its check.

`base_pipeline.create_pipeline` reads a `PipelineSettings`. Everything that runs the pipeline makes
one: the notebooks from their parameters cells (`PipelineSettings.from_namespace(globals())`),
`python -m pipeline_tools.local_runner` from its flags (`add_arguments`), the Vertex AI runner
from its own settings, and the benchmark. A value that cannot work is refused when the object is
made, with the setting's name, before any component exists.

Standard library only, like `columns`: it is imported before TensorFlow.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline_tools import spans

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_FILE = os.path.join(REPO_ROOT, "module.py")
CURATED_SCHEMA_FILE = os.path.join(REPO_ROOT, "schema", "schema.pbtxt")
# What the gate compares new data with before any model was served: statistics of data_local.
REFERENCE_STATISTICS_FILE = os.path.join(REPO_ROOT, "schema", "reference_statistics.pbtxt")
DATA_ROOT = os.path.join(REPO_ROOT, "data_local")

# Beam options of the Beam-based components (ExampleGen, StatisticsGen, Transform, Evaluator)
# when they run on this machine: none, so DirectRunner's defaults, in the orchestrator's own
# process with one worker (which on two cores beats worker processes: benchmarks/README.md).
# None at all, because TFX answers any Beam option without a packaging one (--extra_package,
# --setup_file, --sdk_container_image...) by building an sdist of TFX itself for remote workers:
# 1.2 s per Beam component, and 49 MB left in the temporary folder each time, for a runner that
# ships nothing anywhere. Dataflow gets its own options (pipeline_tools/vertex/settings.py).
LOCAL_BEAM_PIPELINE_ARGS: tuple[str, ...] = ()

_PIPELINE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")


def setting(default: Any, meaning: str) -> Any:
    """A dataclass field with its default and its one-line meaning (the flag's help)."""
    return dataclasses.field(default=default, metadata={"help": meaning})


@dataclasses.dataclass(frozen=True)
class TrainingJob:
    """The Vertex AI custom job the Trainer runs run_fn in: one machine of TFX's image."""

    project: str
    machine_type: str
    image: str
    service_account: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    accelerator_type: str = ""
    accelerator_count: int = 0

    def training_args(self) -> dict[str, Any]:
        """As TFX's Vertex AI Trainer takes it (custom_config's TRAINING_ARGS_KEY): a CustomJob's fields."""
        machine_spec: dict[str, Any] = {"machine_type": self.machine_type}
        if self.accelerator_count:
            machine_spec.update(accelerator_type=self.accelerator_type, accelerator_count=self.accelerator_count)
        return {
            "project": self.project,
            "labels": dict(self.labels),
            "job_spec": {
                "worker_pool_specs": [
                    {"machine_spec": machine_spec, "replica_count": 1, "container_spec": {"image_uri": self.image}}
                ],
                "service_account": self.service_account,
            },
        }


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """The Vertex AI endpoint the Pusher deploys a blessed model to (one replica)."""

    project: str
    name: str  # The endpoint's display name: the Pusher creates it, or deploys to the one of that name.
    machine_type: str
    service_account: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def serving_args(self) -> dict[str, Any]:
        """As TFX's Vertex AI Pusher takes it (custom_config's SERVING_ARGS_KEY)."""
        return {
            "project_id": self.project,
            "endpoint_name": self.name,
            "machine_type": self.machine_type,
            "min_replica_count": 1,
            "max_replica_count": 1,
            "service_account": self.service_account,
            # TFX's Vertex AI Pusher labels the endpoint it creates with these (not the model it uploads).
            "labels": dict(self.labels),
        }


@dataclasses.dataclass(frozen=True)
class VertexServices:
    """How the pipeline runs on Vertex AI, and which components hand their work to its services (set by
    pipeline_tools.vertex)."""

    region: str
    # The image TFX's standard components run in: TFX's own, the version that compiled the blueprint.
    image: str
    # The image the repository's own components run in (TFX's image plus pipeline_tools/components).
    pipeline_image: str
    # Where Transform and Trainer load module.py from: 'module@<the user-code wheel on Cloud Storage>'.
    user_code: str
    # The Trainer runs run_fn as this Vertex AI custom job; None: in its task.
    training_job: TrainingJob | None = None
    # The Pusher deploys the blessed model to this endpoint; None: copies it.
    endpoint: Endpoint | None = None
    # The prediction container the endpoint serves the model with (only with endpoint).
    serving_image: str = ""
    # After a push, leave the model deployed before it at 0% traffic (a quick rollback) instead
    # of undeploying every model that no longer gets traffic (each one is billed per node-hour).
    keep_previous_model: bool = False

    def __post_init__(self) -> None:
        check(bool(self.region), "VertexServices needs a region")
        check(bool(self.image) and bool(self.pipeline_image), "VertexServices needs the images its tasks run in")
        check("@" in self.user_code, f"user_code {self.user_code!r} is not 'module@<wheel>'")
        check(not self.serving_image or self.endpoint is not None, "serving_image needs an endpoint to serve")


@dataclasses.dataclass(frozen=True)
class PipelineSettings:
    """What a run of the pipeline does. Every field has its default here and nowhere else."""

    pipeline_name: str = setting(
        "cfpb-consumer-disputes", "names the pipeline in ML Metadata and on Vertex AI (lowercase, digits, hyphens)"
    )
    train_steps: int = setting(500, "training batches of 64, at most (module.py trains ten passes over the data)")
    eval_steps: int = setting(20, "eval batches of 64 the Trainer measures after each pass, for its curves")
    min_eval_auc: float = setting(0.5, "bless a model only if its eval AUC's 95% interval lies above this (chance)")
    min_eval_examples: int = setting(300, "...and only if it was judged on at least this many eval examples")
    min_eval_positives: int = setting(50, "...of which at least this many disputed")
    spans: str = setting("", "which monthly spans a run learns from: 'A-B' (e.g. 201503-201511), '' all of them")
    presplit: bool = setting(False, "the data root holds train/ and eval/ folders: use that split, not a hash")
    schema_file: str = setting("", "the curated schema ImportSchemaGen reads; '' is schema/schema.pbtxt")
    infer_schema: bool = setting(False, "infer the schema with SchemaGen instead of reading schema_file")
    data_gate: bool = setting(True, "stop before Transform when the data breaks the schema or drifted")
    reference_statistics: str = setting(
        "", "what the gate compares data with before any model was served; '' is schema/reference_statistics.pbtxt"
    )
    enable_cache: bool = setting(True, "reuse a component's outputs when its inputs and code did not change")
    vertex: VertexServices | None = None

    def __post_init__(self) -> None:
        check(
            isinstance(self.pipeline_name, str) and bool(_PIPELINE_NAME_RE.match(self.pipeline_name)),
            f"pipeline_name {self.pipeline_name!r}: use lowercase letters, digits and hyphens (at most 128)",
        )
        for name in ("train_steps", "eval_steps"):
            value = getattr(self, name)
            check(_is_int(value) and value >= 1, f"{name} must be a positive integer, got {value!r}")
        check(
            _is_number(self.min_eval_auc) and 0.0 <= self.min_eval_auc <= 1.0,
            f"min_eval_auc must lie in [0, 1], got {self.min_eval_auc!r}",
        )
        for name in ("min_eval_examples", "min_eval_positives"):
            value = getattr(self, name)
            check(_is_int(value) and value >= 0, f"{name} must be a whole number >= 0, got {value!r}")
        for name in ("presplit", "infer_schema", "data_gate", "enable_cache"):
            check(isinstance(getattr(self, name), bool), f"{name} must be True or False, got {getattr(self, name)!r}")
        check(isinstance(self.schema_file, str), f"schema_file must be a path or '', got {self.schema_file!r}")
        if self.schema_file and "://" not in self.schema_file:
            check(os.path.isfile(self.schema_file), f"schema_file {self.schema_file!r} does not exist")
        check(not (self.infer_schema and self.schema_file), "schema_file and infer_schema exclude each other")
        check(
            isinstance(self.spans, str) and (not self.spans or bool(spans.RANGE.fullmatch(self.spans.strip()))),
            spans.range_error(self.spans),
        )
        check(not (self.spans and self.presplit), "spans and presplit exclude each other: a span is split by hash")
        if self.reference_statistics and "://" not in self.reference_statistics:
            check(
                os.path.isfile(self.reference_statistics),
                f"reference_statistics {self.reference_statistics!r} does not exist",
            )

    @property
    def schema_path(self) -> str | None:
        """The schema ImportSchemaGen reads, or None when SchemaGen infers one."""
        return None if self.infer_schema else (self.schema_file or CURATED_SCHEMA_FILE)

    @property
    def reference_statistics_path(self) -> str:
        """The statistics the gate compares data with until a model has been served."""
        return self.reference_statistics or REFERENCE_STATISTICS_FILE

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any], **overrides: Any) -> PipelineSettings:
        """The settings whose names appear in namespace (a notebook's parameters: `globals()`); overrides win."""
        return cls(**{**_fields_from(cls, namespace), **overrides})


def check(condition: bool, message: str) -> None:
    """Raises ValueError(message) unless condition holds: how every setting is refused."""
    if not condition:
        raise ValueError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _settable_fields(cls: type) -> list[dataclasses.Field]:
    """The fields a reader sets: those with a default and a meaning (not nested settings)."""
    return [field for field in dataclasses.fields(cls) if "help" in field.metadata]


def _fields_from(cls: type, namespace: Mapping[str, Any]) -> dict[str, Any]:
    return {field.name: namespace[field.name] for field in _settable_fields(cls) if field.name in namespace}


def defaults(cls: type) -> dict[str, Any]:
    """{name: default} of the fields a reader sets."""
    return {field.name: field.default for field in _settable_fields(cls)}


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return lowered in ("true", "1", "yes")


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: Iterable[str] = ()) -> None:
    """One flag per setting (--train-steps ...), with its type, default and meaning."""
    for field in _settable_fields(cls):
        if field.name in skip:
            continue
        kind = _parse_bool if isinstance(field.default, bool) else type(field.default)
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=kind,
            default=field.default,
            metavar="true|false" if kind is _parse_bool else None,
            # argparse formats help with %: a literal one (0% traffic) must be doubled.
            help=f"{field.metadata['help']} (default: {field.default!r})".replace("%", "%%"),
        )


def from_arguments(cls: type, arguments: argparse.Namespace, **overrides: Any):
    """The settings of cls given on a command line built by add_arguments."""
    return cls(**_fields_from(cls, vars(arguments)), **overrides)
