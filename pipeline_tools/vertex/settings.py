"""Everything a Vertex AI run needs to know, in one frozen object with its defaults and checks.

`VertexSettings` holds where the run goes (project, region, bucket, service account) and the three
switches that move work to managed services; its `pipeline` field is the same `PipelineSettings`
the local runs use. The notebook builds both from its parameters cell, the command line from
its flags. Nothing here reaches the network.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import tfx

from pipeline_tools.settings import (
    LOCAL_BEAM_PIPELINE_ARGS,
    Endpoint,
    PipelineSettings,
    TrainingJob,
    VertexServices,
    check,
    setting,
)
from pipeline_tools.vertex import images

if TYPE_CHECKING:  # staging.py reads these settings, so only the type comes from there.
    from pipeline_tools.vertex.staging import GcsInputs

# TFX's penguin_pipeline_kubeflow.py passes --disk_size_gb=50: the TFX image is over 10 GB and a
# Dataflow worker's default boot disk is 25 GB.
DATAFLOW_DISK_SIZE_GB = 50

PLACEHOLDER_PROJECT = "your-gcp-project"
PLACEHOLDER_BUCKET = "your-gcs-bucket"
PLACEHOLDER_SERVICE_ACCOUNT = f"tfx-pipelines@{PLACEHOLDER_PROJECT}.iam.gserviceaccount.com"

_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]+(-[a-z]+)+[0-9]+$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_SERVICE_ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9-]*@[a-z0-9.-]+\.gserviceaccount\.com$")
_MACHINE_TYPE_RE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]+$")
_ACCELERATOR_RE = re.compile(r"^[A-Z][A-Z0-9_]+$")
# A cron line: five fields (minute hour day-of-month month day-of-week), optionally after TZ= or CRON_TZ=.
_CRON_RE = re.compile(r"^(?:(?:CRON_)?TZ=[A-Za-z0-9_+/-]+ )?(?:[0-9A-Za-z*,/-]+ ){4}[0-9A-Za-z*,/-]+$")
_LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class VertexSettings:
    """Where a Vertex AI run goes and which services it uses; `pipeline` is what it runs."""

    project: str = setting(PLACEHOLDER_PROJECT, "Google Cloud project id that pays for and owns the run")
    region: str = setting("us-central1", "region of the run, the training job, the endpoint and Dataflow")
    bucket: str = setting(PLACEHOLDER_BUCKET, "Cloud Storage bucket (name only) for data, module.py, artifacts")
    service_account: str = setting(PLACEHOLDER_SERVICE_ACCOUNT, "the identity the pipeline and its jobs run as")
    use_vertex_training: bool = setting(False, "run the Trainer as a Vertex AI custom job on its own machine")
    training_machine_type: str = setting("n1-standard-4", "that job's machine")
    accelerator_type: str = setting("", "that job's accelerator, e.g. NVIDIA_TESLA_T4 ('' for none)")
    accelerator_count: int = setting(0, "how many accelerators (0 for none)")
    use_vertex_endpoint: bool = setting(False, "deploy the blessed model to a Vertex AI endpoint (billed hourly)")
    endpoint_name: str = setting("", "the endpoint's display name; '' is the pipeline's name")
    serving_machine_type: str = setting("n1-standard-2", "the endpoint's machine")
    serving_image: str = setting("", "prediction container; '' is this tutorial's (containers/serving, same TF)")
    keep_previous_model: bool = setting(False, "after a push, keep the model deployed before it (at 0% traffic)")
    use_dataflow: bool = setting(False, "run the Beam-based components on Dataflow instead of in their task")
    dataflow_machine_type: str = setting("n1-standard-2", "Dataflow's worker machine")
    dataflow_max_workers: int = setting(4, "Dataflow's autoscaling cap")
    tfx_image: str = setting("", "TFX's image, for its components; '' is gcr.io/tfx-oss-public/tfx:<installed tfx>")
    pipeline_image: str = setting(
        "", "the image of the repository's components and Dataflow's workers; '' is this code's (containers/pipeline)"
    )
    artifact_repository: str = setting("tfx-tutorial", "Artifact Registry repository of the images you build")
    schedule_cron: str = setting(
        "TZ=America/New_York 0 6 2 * *", "when a schedule starts runs (cron, optional TZ=): 06:00 on each month's 2nd"
    )
    schedule_max_concurrent_runs: int = setting(1, "runs a schedule lets run at once (1: a run waits for the last)")
    schedule_max_runs: int = setting(0, "the schedule ends after this many runs (0: no end)")
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    pipeline: PipelineSettings = dataclasses.field(default_factory=PipelineSettings)

    def __post_init__(self) -> None:
        """Refuses, by name, the first setting that cannot work, when the settings are made. Placeholders
        pass (a dry run needs none of them); `check_real_run` refuses them. The pipeline's own settings
        were checked when they were made."""
        _check_where(self)
        _check_machines(self)
        _check_images(self)
        _check_endpoint_and_labels(self)
        _check_schedule(self)

    def placeholders(self) -> list[str]:
        """Names the settings that still hold a placeholder (or nothing) instead of a real value."""
        found = []
        for name, placeholder in (
            ("project", PLACEHOLDER_PROJECT),
            ("bucket", PLACEHOLDER_BUCKET),
            ("service_account", PLACEHOLDER_SERVICE_ACCOUNT),
        ):
            value = getattr(self, name)
            if not value or not value.strip() or value == placeholder or PLACEHOLDER_PROJECT in value:
                found.append(name)
        return found

    def resolve_dry_run(self, dry_run: bool | None) -> bool:
        """None means: a dry run while any of project, bucket, service_account is a placeholder."""
        return bool(self.placeholders()) if dry_run is None else bool(dry_run)

    def check_real_run(self) -> None:
        """What a real run needs beyond well-formed settings: no placeholders, so nothing is uploaded or
        compiled for a project that is not there."""
        missing = self.placeholders()
        check(
            not missing,
            f"dry_run is off but {', '.join(missing)} still hold placeholders or are empty: set your "
            "own GCP project, Cloud Storage bucket and service account (README, Vertex AI), or keep dry_run on",
        )

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> VertexSettings:
        """The settings named in namespace (the notebook's parameters), its pipeline settings included."""
        names = [field.name for field in dataclasses.fields(cls) if "help" in field.metadata]
        return cls(
            **{name: namespace[name] for name in names if name in namespace},
            pipeline=PipelineSettings.from_namespace(namespace),
        )

    @property
    def gcs_root(self) -> str:
        """Everything of this pipeline lives under this folder of the bucket."""
        return f"gs://{self.bucket}/{self.pipeline.pipeline_name}"

    @property
    def pipeline_root(self) -> str:
        return f"{self.gcs_root}/pipeline_root"

    @property
    def serving_model_dir(self) -> str:
        return f"{self.gcs_root}/serving_model"

    @property
    def endpoint_display_name(self) -> str:
        return self.endpoint_name or self.pipeline.pipeline_name

    @property
    def image(self) -> str:
        """The image TFX's standard components run in."""
        return self.tfx_image or images.TFX_IMAGE

    def own_image(self, name: str, tag: str) -> str:
        """The URI of an image built from the containers folder into the project's Artifact Registry."""
        return images.registry_image(self.region, self.project, self.artifact_repository, name, tag)

    @property
    def pipeline_image_uri(self) -> str:
        """The image of the repository's own components and of Dataflow's workers: pipeline_image, or
        the one containers/pipeline builds from this code (its tag is a hash of what it copies)."""
        return self.pipeline_image or self.own_image("cfpb-pipeline", images.pipeline_image_tag())

    @property
    def serving_image_uri(self) -> str:
        """The endpoint's prediction container: serving_image, or this tutorial's, for the installed TensorFlow."""
        return self.serving_image or self.own_image("tfx-serving", f"tf{images.tensorflow_version()}")

    @property
    def run_labels(self) -> dict[str, str]:
        """The labels of the run and of what it starts (Dataflow jobs, the training job, the endpoint)."""
        return {
            "tutorial": "tfx-cfpb",
            "pipeline": self.pipeline.pipeline_name,
            "tfx-version": tfx.__version__.replace(".", "-"),
            **self.labels,
        }


def _check_where(settings: VertexSettings) -> None:
    """Project, region, bucket and service account are well-formed. An empty project, bucket or service
    account is one not set yet, as a placeholder is (`placeholders`): a real run refuses both."""
    project, bucket, account = (
        value if (value or "").strip() else None
        for value in (settings.project, settings.bucket, settings.service_account)
    )
    check(
        project is None or bool(_PROJECT_RE.match(project)),
        f"project {settings.project!r} is not a GCP project id (6-30 lowercase letters, digits, hyphens)",
    )
    check(
        bool(_REGION_RE.match(settings.region or "")),
        f"region {settings.region!r} is not a Google Cloud region such as 'us-central1'",
    )
    check(
        bucket is None or not bucket.startswith("gs://"),
        f"bucket {settings.bucket!r}: give the bucket's name, without 'gs://'",
    )
    check(
        bucket is None or bool(_BUCKET_RE.match(bucket)),
        f"bucket {settings.bucket!r} is not a Cloud Storage bucket name",
    )
    check(
        account is None or bool(_SERVICE_ACCOUNT_RE.match(account)),
        f"service_account {settings.service_account!r} is not a service account email "
        "(name@project.iam.gserviceaccount.com)",
    )


def _check_machines(settings: VertexSettings) -> None:
    """Machine types, accelerators and Dataflow's worker cap are well-formed and consistent."""
    for name in ("training_machine_type", "serving_machine_type", "dataflow_machine_type"):
        value = getattr(settings, name)
        check(
            bool(_MACHINE_TYPE_RE.match(value or "")), f"{name} {value!r} is not a machine type such as 'n1-standard-4'"
        )
    count = settings.accelerator_count
    check(
        isinstance(count, int) and not isinstance(count, bool) and count >= 0,
        f"accelerator_count must be a non-negative integer, got {count!r}",
    )
    check(
        bool(settings.accelerator_type) == (count > 0),
        f"accelerator_type {settings.accelerator_type!r} and accelerator_count {count!r} go together: "
        "both set (e.g. 'NVIDIA_TESLA_T4' and 1) or neither",
    )
    check(
        not settings.accelerator_type or bool(_ACCELERATOR_RE.match(settings.accelerator_type)),
        f"accelerator_type {settings.accelerator_type!r} is not a Vertex AI accelerator such as 'NVIDIA_TESLA_T4'",
    )
    workers = settings.dataflow_max_workers
    check(
        isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1,
        f"dataflow_max_workers must be a positive integer, got {workers!r}",
    )


def _check_images(settings: VertexSettings) -> None:
    """TFX's image is the compiling TFX."""
    check(
        settings.image.rsplit(":", 1)[-1] == tfx.__version__,
        f"tfx_image {settings.image!r}: its tag must be the installed TFX version {tfx.__version__} (the blueprint "
        "and the code that executes it must be the same TFX)",
    )


def _check_endpoint_and_labels(settings: VertexSettings) -> None:
    """The image repository, the endpoint's name and the labels are well-formed."""
    check(
        bool(re.match(r"^[a-z][a-z0-9-]{0,62}$", settings.artifact_repository or "")),
        f"artifact_repository {settings.artifact_repository!r} is not an Artifact Registry repository name",
    )
    check(isinstance(settings.keep_previous_model, bool), "keep_previous_model must be True or False")
    check(
        isinstance(settings.endpoint_name, str) and len(settings.endpoint_name) <= 128,
        f"endpoint_name {settings.endpoint_name!r} must be at most 128 characters ('' for the pipeline's name)",
    )
    check(bool(settings.endpoint_display_name.strip()), f"endpoint_name {settings.endpoint_name!r} is blank")
    for key, value in settings.labels.items():
        check(
            bool(_LABEL_KEY_RE.match(str(key))) and bool(_LABEL_VALUE_RE.match(str(value))),
            f"label {key!r}: {value!r}: keys and values must be lowercase letters, digits, '_' or '-'",
        )


def _check_schedule(settings: VertexSettings) -> None:
    """The schedule's cron line and run limits are well-formed."""
    check(
        isinstance(settings.schedule_cron, str) and bool(_CRON_RE.match(settings.schedule_cron.strip())),
        f"schedule_cron {settings.schedule_cron!r} is not a cron line: five fields (minute hour day month weekday), "
        "optionally after TZ=Area/City, e.g. 'TZ=America/New_York 0 6 2 * *'",
    )
    for name, least in (("schedule_max_concurrent_runs", 1), ("schedule_max_runs", 0)):
        value = getattr(settings, name)
        check(
            isinstance(value, int) and not isinstance(value, bool) and value >= least,
            f"{name} must be an integer of at least {least}, got {value!r}",
        )


def beam_pipeline_args(settings: VertexSettings) -> list[str]:
    """Beam options of the Beam-based components: Dataflow, or the in-container DirectRunner."""
    if not settings.use_dataflow:
        return list(LOCAL_BEAM_PIPELINE_ARGS)
    return [
        "--runner=DataflowRunner",
        f"--project={settings.project}",
        f"--region={settings.region}",
        f"--temp_location={settings.gcs_root}/dataflow/tmp",
        f"--staging_location={settings.gcs_root}/dataflow/staging",
        f"--machine_type={settings.dataflow_machine_type}",
        f"--max_num_workers={settings.dataflow_max_workers}",
        f"--disk_size_gb={DATAFLOW_DISK_SIZE_GB}",
        # Workers run the pipeline image (TFX's, with Beam's worker boot): the very TFX, TFT and TFMA that
        # compiled. module.py reaches them as the user-code wheel Transform passes as --extra_package.
        f"--sdk_container_image={settings.pipeline_image_uri}",
        "--experiments=use_runner_v2",
        f"--service_account_email={settings.service_account}",
        # Vertex AI labels the run, not what the run's code starts: Dataflow jobs get the labels here.
        *[f"--labels={key}={value}" for key, value in sorted(settings.run_labels.items())],
    ]


def training_job(settings: VertexSettings) -> TrainingJob | None:
    """The Vertex AI CustomJob the extension Trainer launches, or None to train in the pipeline."""
    if not settings.use_vertex_training:
        return None
    return TrainingJob(
        project=settings.project,
        machine_type=settings.training_machine_type,
        image=settings.image,
        service_account=settings.service_account,
        labels=settings.run_labels,
        accelerator_type=settings.accelerator_type if settings.accelerator_count else "",
        accelerator_count=settings.accelerator_count,
    )


def endpoint(settings: VertexSettings) -> Endpoint | None:
    """The endpoint the extension Pusher deploys the blessed model to, or None to copy it to GCS."""
    if not settings.use_vertex_endpoint:
        return None
    return Endpoint(
        project=settings.project,
        name=settings.endpoint_display_name,
        machine_type=settings.serving_machine_type,
        service_account=settings.service_account,
        labels=settings.run_labels,
    )


def pipeline_settings(settings: VertexSettings, inputs: GcsInputs) -> PipelineSettings:
    """The one translation of a Vertex AI run into the pipeline's settings: the Vertex AI services these
    settings switch on, and the inputs staged on Cloud Storage (the user-code wheel Transform and Trainer
    load module.py from, the spans, the gate's reference statistics and the schema, see staging.py)."""
    services = VertexServices(
        region=settings.region,
        image=settings.image,
        pipeline_image=settings.pipeline_image_uri,
        user_code=inputs.user_code,
        training_job=training_job(settings),
        endpoint=endpoint(settings),
        serving_image=settings.serving_image_uri if settings.use_vertex_endpoint else "",
        keep_previous_model=settings.keep_previous_model,
    )
    staged = dict(spans=inputs.spans, reference_statistics=inputs.reference_statistics)
    if inputs.schema_file is not None:
        staged.update(schema_file=inputs.schema_file)
    return dataclasses.replace(settings.pipeline, vertex=services, **staged)
