"""Everything a Vertex AI run needs to know, in one frozen object with its defaults and checks.

`VertexSettings` holds where the run goes (project, region, bucket, service account) and the three
switches that move work to managed services; its `pipeline` field is the same `PipelineSettings`
the local runs use. The notebook builds both from its parameters cell, the command line from
its flags. Nothing here reaches the network.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

import tfx

from pipeline_tools.settings import LOCAL_BEAM_PIPELINE_ARGS, PipelineSettings, VertexServices, check, setting

# Vertex AI runs every component in TFX's own image; it must be the TFX that compiled the JSON.
TFX_IMAGE = f"gcr.io/tfx-oss-public/tfx:{tfx.__version__}"
CONTAINERS = "pipeline_tools/vertex/containers"  # The Dockerfiles of the images a reader may build.

# tfx v1.21.0's image deletes Beam's worker boot (`rm -rf /opt/apache/beam` in
# tfx/tools/docker/Dockerfile, commit e87220b, 2026-04-01) while Dataflow starts a custom worker
# container with /opt/apache/beam/boot: from 1.21 on Dataflow needs an image of your own.
FIRST_TFX_WITHOUT_BEAM_BOOT = (1, 21)
# TFX's penguin_pipeline_kubeflow.py passes --disk_size_gb=50: the TFX image is over 10 GB and a
# Dataflow worker's default boot disk is 25 GB.
DATAFLOW_DISK_SIZE_GB = 50

# Vertex AI's prebuilt TensorFlow prediction images, by TF version: (end of patch and support,
# end of availability), from the "Prebuilt containers for inference" page (2026-11). There is
# none for TensorFlow 2.16 or later, which both stacks train with.
PREBUILT_TF_SERVING: dict[str, tuple[str, str]] = {
    "2-15": ("2026-01-14", "2027-01-14"),
    "2-14": ("2026-01-14", "2027-01-14"),
    "2-13": ("2024-11-28", "2025-11-28"),
    "2-12": ("2024-06-30", "2025-06-30"),
}
_PREBUILT_TF_RE = re.compile(r"^[a-z]+-docker\.pkg\.dev/vertex-ai/prediction/tf2-(?:cpu|gpu)\.(\d+-\d+):latest$")

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
    dataflow_sdk_image: str = setting("", "Dataflow's worker container; '' is the TFX image (tfx < 1.21 only)")
    tfx_image: str = setting("", "the image every task runs in; '' is gcr.io/tfx-oss-public/tfx:<installed tfx>")
    artifact_repository: str = setting("tfx-tutorial", "Artifact Registry repository of the images you build")
    schedule_cron: str = setting(
        "TZ=America/New_York 0 6 2 * *", "when a schedule starts runs (cron, optional TZ=): 06:00 on each month's 2nd"
    )
    schedule_max_concurrent_runs: int = setting(1, "runs a schedule lets run at once (1: a run waits for the last)")
    schedule_max_runs: int = setting(0, "the schedule ends after this many runs (0: no end)")
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    pipeline: PipelineSettings = dataclasses.field(default_factory=PipelineSettings)

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
        """The image every task runs in."""
        return self.tfx_image or TFX_IMAGE

    def own_image(self, name: str, tag: str) -> str:
        """The URI of an image built from CONTAINERS into the project's Artifact Registry."""
        return f"{self.region}-docker.pkg.dev/{self.project}/{self.artifact_repository}/{name}:{tag}"

    @property
    def serving_image_uri(self) -> str:
        """The endpoint's prediction container: serving_image, or this tutorial's, for the installed TensorFlow."""
        return self.serving_image or self.own_image("tfx-serving", f"tf{_tensorflow_version()}")


def placeholders(settings: VertexSettings) -> list[str]:
    """Names the settings that still hold a placeholder (or nothing) instead of a real value."""
    found = []
    for name, placeholder in (
        ("project", PLACEHOLDER_PROJECT),
        ("bucket", PLACEHOLDER_BUCKET),
        ("service_account", PLACEHOLDER_SERVICE_ACCOUNT),
    ):
        value = getattr(settings, name)
        if not value or not value.strip() or value == placeholder or PLACEHOLDER_PROJECT in value:
            found.append(name)
    return found


def resolve_dry_run(settings: VertexSettings, dry_run: bool | None) -> bool:
    """None means: a dry run while any of project, bucket, service_account is a placeholder."""
    return bool(placeholders(settings)) if dry_run is None else bool(dry_run)


def _check_where(settings: VertexSettings) -> None:
    """Project, region, bucket and service account are well-formed."""
    check(
        bool(_PROJECT_RE.match(settings.project or "")),
        f"project {settings.project!r} is not a GCP project id (6-30 lowercase letters, digits, hyphens)",
    )
    check(
        bool(_REGION_RE.match(settings.region or "")),
        f"region {settings.region!r} is not a Google Cloud region such as 'us-central1'",
    )
    check(
        not (settings.bucket or "").startswith("gs://"),
        f"bucket {settings.bucket!r}: give the bucket's name, without 'gs://'",
    )
    check(
        bool(_BUCKET_RE.match(settings.bucket or "")), f"bucket {settings.bucket!r} is not a Cloud Storage bucket name"
    )
    check(
        bool(_SERVICE_ACCOUNT_RE.match(settings.service_account or "")),
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


def _tensorflow_version() -> str:
    from importlib.metadata import version

    return version("tensorflow")


def installed_tfx() -> tuple[int, ...]:
    """The installed TFX as (major, minor)."""
    return tuple(int(part) for part in tfx.__version__.split(".")[:2])


def dataflow_worker_build_command(settings: VertexSettings) -> str:
    """The one command that builds a Dataflow worker image (TFX's image plus Beam's boot) into Artifact Registry."""
    image = settings.own_image("tfx-dataflow-worker", tfx.__version__)
    return (
        f"gcloud builds submit {CONTAINERS}/dataflow_worker --config {CONTAINERS}/dataflow_worker/cloudbuild.yaml "
        f"--substitutions=_TFX_IMAGE={settings.image},_IMAGE={image} --project {settings.project}"
    )


def serving_build_command(settings: VertexSettings) -> str:
    """The one command that builds this tutorial's prediction container into Artifact Registry."""
    return (
        f"gcloud builds submit {CONTAINERS}/serving --config {CONTAINERS}/serving/cloudbuild.yaml "
        f"--substitutions=_TF_VERSION={_tensorflow_version()},_IMAGE={settings.serving_image_uri} "
        f"--project {settings.project}"
    )


def image_check_command(image: str) -> str:
    """The command that says whether an image exists (and that you may pull it), before a real run."""
    if ".pkg.dev/" in image:
        return f"gcloud artifacts docker images describe {image}"
    return f"gcloud container images describe {image}"


def prebuilt_serving_availability(image: str, today: datetime.date | None = None) -> str | None:
    """For one of Vertex AI's prebuilt TensorFlow prediction images: its support and availability dates."""
    found = _PREBUILT_TF_RE.match(image)
    if not found:
        return None
    version = found.group(1)
    if version not in PREBUILT_TF_SERVING:
        return f"{image}: no end-of-availability date known here; see Vertex AI's prebuilt containers page"
    support_end, available_until = PREBUILT_TF_SERVING[version]
    today = today or datetime.date.today()
    gone = datetime.date.fromisoformat(available_until) <= today
    return (
        f"{image}: TensorFlow {version.replace('-', '.')}, support ended {support_end}, "
        + (f"no longer available since {available_until}" if gone else f"available until {available_until}")
        + f"; the model is saved by TensorFlow {_tensorflow_version()}"
    )


def _check_images(settings: VertexSettings) -> None:
    """The pipeline image runs the compiling TFX; Dataflow on tfx >= 1.21 has a worker image of its own."""
    check(
        settings.image.rsplit(":", 1)[-1] == tfx.__version__,
        f"tfx_image {settings.image!r}: its tag must be the installed TFX version {tfx.__version__} (the blueprint "
        "and the code that executes it must be the same TFX)",
    )
    if settings.use_dataflow and not settings.dataflow_sdk_image and installed_tfx() >= FIRST_TFX_WITHOUT_BEAM_BOOT:
        raise ValueError(
            f"use_dataflow needs dataflow_sdk_image with tfx {tfx.__version__}: its image has no "
            "/opt/apache/beam/boot, which Dataflow starts workers with. Build one (TFX's image plus Beam's boot)"
            " with\n  "
            f"{dataflow_worker_build_command(settings)}\nand pass dataflow_sdk_image="
            f"{settings.own_image('tfx-dataflow-worker', tfx.__version__)}"
        )


def check_settings(settings: VertexSettings, dry_run: bool) -> None:
    """Raises ValueError naming the first setting that cannot work.

    A real run (dry_run False) also refuses placeholders, so nothing is uploaded or compiled
    for a project that is not there. The pipeline's own settings were checked when made.
    """
    if not dry_run:
        missing = placeholders(settings)
        check(
            not missing,
            f"dry_run is off but {', '.join(missing)} still hold placeholders or are empty: set your "
            "own GCP project, Cloud Storage bucket and service account (README, Vertex AI), or keep dry_run on",
        )
    _check_where(settings)
    _check_machines(settings)
    _check_images(settings)
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
    _check_schedule(settings)
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
        # Workers run the TFX image (or one built on it), so they have the very TFX, TFT and TFMA that compiled.
        f"--sdk_container_image={settings.dataflow_sdk_image or settings.image}",
        "--experiments=use_runner_v2",
        f"--service_account_email={settings.service_account}",
    ]


def training_job(settings: VertexSettings) -> dict[str, Any] | None:
    """The Vertex AI CustomJob the extension Trainer launches, or None to train in the pipeline."""
    if not settings.use_vertex_training:
        return None
    machine_spec: dict[str, Any] = {"machine_type": settings.training_machine_type}
    if settings.accelerator_count:
        machine_spec.update(accelerator_type=settings.accelerator_type, accelerator_count=settings.accelerator_count)
    return {
        "project": settings.project,
        "job_spec": {
            "worker_pool_specs": [
                {"machine_spec": machine_spec, "replica_count": 1, "container_spec": {"image_uri": settings.image}}
            ],
            "service_account": settings.service_account,
        },
    }


def endpoint_args(settings: VertexSettings) -> dict[str, Any] | None:
    """How the extension Pusher deploys the blessed model to an endpoint, or None to copy it to GCS."""
    if not settings.use_vertex_endpoint:
        return None
    return {
        "project_id": settings.project,
        "endpoint_name": settings.endpoint_display_name,
        "machine_type": settings.serving_machine_type,
        "min_replica_count": 1,
        "max_replica_count": 1,
        "service_account": settings.service_account,
    }


def pipeline_settings(settings: VertexSettings) -> PipelineSettings:
    """The pipeline's settings with the Vertex AI services switched on by these settings."""
    services = VertexServices(
        region=settings.region,
        image=settings.image,
        training_job=training_job(settings),
        endpoint=endpoint_args(settings),
        serving_image=settings.serving_image_uri if settings.use_vertex_endpoint else "",
        keep_previous_model=settings.keep_previous_model,
    )
    return dataclasses.replace(settings.pipeline, vertex=services)
