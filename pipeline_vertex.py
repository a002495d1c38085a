"""Compiles the shared pipeline for Vertex AI Pipelines and submits it, from the notebook or a shell.

    python pipeline_vertex.py                       # dry run: compile and check, no network
    python pipeline_vertex.py --project my-project --bucket my-bucket \\
        --service-account pipelines@my-project.iam.gserviceaccount.com --submit --wait
    python pipeline_vertex.py --project my-project ... --delete-endpoint   # stop paying for it

The pipeline is `base_pipeline.create_pipeline`, the one the local notebook runs; only its
Vertex parameters differ. A run has four steps, each a function below: check the settings,
upload the data and module.py to Cloud Storage, compile the pipeline to a JSON blueprint with
KubeflowV2DagRunner, and submit that blueprint as an `aiplatform.PipelineJob`.

A dry run does everything that needs no network: it checks, plans the uploads, compiles,
validates the blueprint and builds the PipelineJob with anonymous credentials, and says what
would be uploaded and submitted. A real run refuses placeholder settings before it uploads or
compiles anything.
"""

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

import tfx  # noqa: E402
from tfx import v1 as tfx_v1  # noqa: E402

import base_pipeline  # noqa: E402
import data_validation  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))

# Vertex AI runs every component in TFX's own image; it must be the TFX that compiled the JSON.
TFX_IMAGE = f"gcr.io/tfx-oss-public/tfx:{tfx.__version__}"

PLACEHOLDER_PROJECT = "your-gcp-project"
PLACEHOLDER_BUCKET = "your-gcs-bucket"
PLACEHOLDER_SERVICE_ACCOUNT = f"tfx-pipelines@{PLACEHOLDER_PROJECT}.iam.gserviceaccount.com"

# The Beam-based components: ExampleGen, StatisticsGen, Transform and Evaluator run Beam
# pipelines; with use_dataflow they run them on Dataflow instead of inside their container.
BEAM_COMPONENTS = ("CsvExampleGen", "StatisticsGen", "Transform", "Evaluator")

_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]+(-[a-z]+)+[0-9]+$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_SERVICE_ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9-]*@[a-z0-9.-]+\.gserviceaccount\.com$")
_PIPELINE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_MACHINE_TYPE_RE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9-]+$")
_ACCELERATOR_RE = re.compile(r"^[A-Z][A-Z0-9_]+$")
_LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class VertexSettings:
    """Everything a Vertex AI run needs to know: the notebook's parameters, as one value.

    Attributes:
      project: Google Cloud project id that pays for and owns the run.
      region: Vertex AI region of the pipeline run, training job, endpoint and Dataflow jobs.
      bucket: Cloud Storage bucket (name only) for data, module.py, artifacts, pushed models.
      service_account: The identity the pipeline (and Dataflow, training and the endpoint) runs as.
      pipeline_name: Lowercase letters, digits and hyphens; names the run and its GCS folder.
      train_steps, eval_steps, min_eval_auc, max_auc_decrease: As in base_pipeline.
      enable_caching: Let Vertex AI reuse a component's outputs when nothing it reads changed.
      use_vertex_training: Run the Trainer as a Vertex AI custom job on its own machine.
      training_machine_type, accelerator_type, accelerator_count: That job's machine;
        accelerator_type is e.g. "NVIDIA_TESLA_T4" ("" and 0 for none).
      use_vertex_endpoint: Deploy the blessed model to a Vertex AI endpoint (billed while it runs).
      endpoint_name, serving_machine_type: The endpoint's display name and machine.
      serving_image: Prediction container; "" picks Vertex AI's prebuilt TensorFlow image
        closest to the installed TensorFlow (see `default_serving_image`).
      use_dataflow: Run the Beam-based components on Dataflow instead of in their container.
      dataflow_machine_type, dataflow_max_workers: Dataflow's worker machine and autoscaling cap.
      dataflow_sdk_image: Worker container; "" uses the TFX image, so workers run the same TFX.
      labels: Extra labels on the pipeline job (lowercase keys and values).
    """

    project: str = PLACEHOLDER_PROJECT
    region: str = "us-central1"
    bucket: str = PLACEHOLDER_BUCKET
    service_account: str = PLACEHOLDER_SERVICE_ACCOUNT
    pipeline_name: str = base_pipeline.PIPELINE_NAME
    train_steps: int = base_pipeline.TRAIN_STEPS
    eval_steps: int = base_pipeline.EVAL_STEPS
    min_eval_auc: float = base_pipeline.MIN_EVAL_AUC
    max_auc_decrease: float = base_pipeline.MAX_AUC_DECREASE
    enable_caching: bool = True
    use_vertex_training: bool = False
    training_machine_type: str = "n1-standard-4"
    accelerator_type: str = ""
    accelerator_count: int = 0
    use_vertex_endpoint: bool = False
    endpoint_name: str = base_pipeline.PIPELINE_NAME
    serving_machine_type: str = "n1-standard-2"
    serving_image: str = ""
    use_dataflow: bool = False
    dataflow_machine_type: str = "n1-standard-2"
    dataflow_max_workers: int = 4
    dataflow_sdk_image: str = ""
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def gcs_root(self) -> str:
        """Everything of this pipeline lives under this folder of the bucket."""
        return f"gs://{self.bucket}/{self.pipeline_name}"

    @property
    def pipeline_root(self) -> str:
        return f"{self.gcs_root}/pipeline_root"

    @property
    def serving_model_dir(self) -> str:
        return f"{self.gcs_root}/serving_model"


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


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def check_settings(settings: VertexSettings, dry_run: bool) -> None:
    """Raises ValueError naming the first setting that cannot work.

    A real run (dry_run False) also refuses placeholders, so nothing is uploaded or compiled
    for a project that is not there.
    """
    if not dry_run:
        missing = placeholders(settings)
        _require(
            not missing,
            f"dry_run is off but {', '.join(missing)} still hold placeholders or are empty: set your "
            "own GCP project, Cloud Storage bucket and service account (README, Vertex AI), or keep dry_run on",
        )
    _require(
        bool(_PROJECT_RE.match(settings.project or "")),
        f"project {settings.project!r} is not a GCP project id (6-30 lowercase letters, digits, hyphens)",
    )
    _require(
        bool(_REGION_RE.match(settings.region or "")),
        f"region {settings.region!r} is not a Google Cloud region such as 'us-central1'",
    )
    _require(
        not (settings.bucket or "").startswith("gs://"),
        f"bucket {settings.bucket!r}: give the bucket's name, without 'gs://'",
    )
    _require(
        bool(_BUCKET_RE.match(settings.bucket or "")), f"bucket {settings.bucket!r} is not a Cloud Storage bucket name"
    )
    _require(
        bool(_SERVICE_ACCOUNT_RE.match(settings.service_account or "")),
        f"service_account {settings.service_account!r} is not a service account email "
        "(name@project.iam.gserviceaccount.com)",
    )
    _require(
        bool(_PIPELINE_NAME_RE.match(settings.pipeline_name or "")),
        f"pipeline_name {settings.pipeline_name!r}: use lowercase letters, digits and hyphens (at most 128)",
    )
    base_pipeline.check_parameters(
        data_root="gs://",
        module_file="gs://",
        train_steps=settings.train_steps,
        eval_steps=settings.eval_steps,
        min_eval_auc=settings.min_eval_auc,
        max_auc_decrease=settings.max_auc_decrease,
    )
    for name in ("training_machine_type", "serving_machine_type", "dataflow_machine_type"):
        value = getattr(settings, name)
        _require(
            bool(_MACHINE_TYPE_RE.match(value or "")), f"{name} {value!r} is not a machine type such as 'n1-standard-4'"
        )
    count = settings.accelerator_count
    _require(
        isinstance(count, int) and not isinstance(count, bool) and count >= 0,
        f"accelerator_count must be a non-negative integer, got {count!r}",
    )
    _require(
        bool(settings.accelerator_type) == (count > 0),
        f"accelerator_type {settings.accelerator_type!r} and accelerator_count {count!r} go together: "
        "both set (e.g. 'NVIDIA_TESLA_T4' and 1) or neither",
    )
    _require(
        not settings.accelerator_type or bool(_ACCELERATOR_RE.match(settings.accelerator_type)),
        f"accelerator_type {settings.accelerator_type!r} is not a Vertex AI accelerator such as 'NVIDIA_TESLA_T4'",
    )
    workers = settings.dataflow_max_workers
    _require(
        isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1,
        f"dataflow_max_workers must be a positive integer, got {workers!r}",
    )
    _require(
        bool((settings.endpoint_name or "").strip()) and len(settings.endpoint_name) <= 128,
        f"endpoint_name {settings.endpoint_name!r} must be 1 to 128 characters",
    )
    for key, value in settings.labels.items():
        _require(
            bool(_LABEL_KEY_RE.match(str(key))) and bool(_LABEL_VALUE_RE.match(str(value))),
            f"label {key!r}: {value!r}: keys and values must be lowercase letters, digits, '_' or '-'",
        )


# --- What the shared pipeline gets on Vertex AI -----------------------------------------------


def default_serving_image(region: str, tensorflow_version: str | None = None) -> str:
    """Returns Vertex AI's prebuilt TensorFlow prediction image for this TensorFlow version.

    Vertex AI publishes these images for TensorFlow up to 2.15 (aiplatform lists them in
    `google.cloud.aiplatform.constants.prediction`). For a newer TensorFlow the newest
    published image is returned; the model's ops are standard TensorFlow ops, but check the
    endpoint's first answer, or set serving_image to a container you built.
    """
    from google.cloud.aiplatform.constants import prediction

    if tensorflow_version is None:
        import tensorflow as tf

        tensorflow_version = tf.__version__
    major, minor = (int(part) for part in tensorflow_version.split(".")[:2])
    prefix = region.split("-")[0]
    registry = {"us": "us", "europe": "europe", "asia": "asia"}.get(prefix, "us")
    published = set(prediction.TF_CONTAINER_URIS)

    def uri(m: int) -> str:
        return f"{registry}-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.{major}-{m}:latest"

    for candidate in range(minor, -1, -1):
        if uri(candidate) in published:
            return uri(candidate)
    raise ValueError(f"Vertex AI publishes no prebuilt prediction image for TensorFlow {major}.x: set serving_image")


def beam_pipeline_args(settings: VertexSettings) -> list[str]:
    """Beam options of the Beam-based components: Dataflow, or the in-container DirectRunner."""
    if not settings.use_dataflow:
        return list(base_pipeline.LOCAL_BEAM_PIPELINE_ARGS)
    return [
        "--runner=DataflowRunner",
        f"--project={settings.project}",
        f"--region={settings.region}",
        f"--temp_location={settings.gcs_root}/dataflow/tmp",
        f"--staging_location={settings.gcs_root}/dataflow/staging",
        f"--machine_type={settings.dataflow_machine_type}",
        f"--max_num_workers={settings.dataflow_max_workers}",
        # Workers run the TFX image, so they have the very TFX, TFT and TFMA that compiled.
        f"--sdk_container_image={settings.dataflow_sdk_image or TFX_IMAGE}",
        "--experiments=use_runner_v2",
        f"--service_account_email={settings.service_account}",
    ]


def vertex_training_args(settings: VertexSettings) -> dict[str, Any] | None:
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
                {"machine_spec": machine_spec, "replica_count": 1, "container_spec": {"image_uri": TFX_IMAGE}}
            ],
            "service_account": settings.service_account,
        },
    }


def vertex_serving_args(settings: VertexSettings) -> dict[str, Any] | None:
    """How the extension Pusher deploys the blessed model to an endpoint, or None to copy it to GCS."""
    if not settings.use_vertex_endpoint:
        return None
    return {
        "project_id": settings.project,
        "endpoint_name": settings.endpoint_name,
        "machine_type": settings.serving_machine_type,
        "min_replica_count": 1,
        "max_replica_count": 1,
        "service_account": settings.service_account,
    }


# --- Upload ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Upload:
    source: str
    destination: str


@dataclasses.dataclass(frozen=True)
class GcsInputs:
    """Where the pipeline reads its inputs on Cloud Storage, and what to copy there."""

    data_root: str
    module_file: str
    schema_file: str
    uploads: list[Upload]


def _fingerprint(paths: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def plan_uploads(
    settings: VertexSettings, data_dir: str, module_file: str, schema_file: str = base_pipeline.CURATED_SCHEMA_FILE
) -> GcsInputs:
    """Plans the copies of data_dir's CSV files, module.py and the curated schema to the bucket.

    Each goes to a folder named by a hash of its contents, so that changed data, a changed
    module.py or schema is a changed pipeline parameter and Vertex AI's cache cannot reuse
    stale outputs. The CSV files are checked first (data_validation.check_csv_folder): a file
    CsvExampleGen cannot read is refused here, not after the upload.
    """
    if not os.path.isdir(data_dir):
        raise ValueError(f"data_dir {data_dir!r} is not a folder")
    csv_files = sorted(os.path.join(data_dir, name) for name in os.listdir(data_dir) if name.endswith(".csv"))
    if not csv_files:
        raise ValueError(f"data_dir {data_dir!r} holds no .csv file for CsvExampleGen")
    data_validation.check_csv_folder(data_dir)
    for name, path in (("module_file", module_file), ("schema_file", schema_file)):
        if not os.path.isfile(path):
            raise ValueError(f"{name} {path!r} does not exist")
    data_root = f"{settings.gcs_root}/data/{_fingerprint(csv_files)}"
    module_uri = f"{settings.gcs_root}/module/{_fingerprint([module_file])}/{os.path.basename(module_file)}"
    schema_uri = f"{settings.gcs_root}/schema/{_fingerprint([schema_file])}/{os.path.basename(schema_file)}"
    uploads = [Upload(path, f"{data_root}/{os.path.basename(path)}") for path in csv_files]
    uploads += [Upload(module_file, module_uri), Upload(schema_file, schema_uri)]
    return GcsInputs(data_root=data_root, module_file=module_uri, schema_file=schema_uri, uploads=uploads)


def upload(inputs: GcsInputs, settings: VertexSettings, credentials) -> None:
    """Copies the planned files to Cloud Storage (needs the network and write access to the bucket)."""
    from google.cloud import storage
    from tqdm.auto import tqdm

    client = storage.Client(project=settings.project, credentials=credentials)
    for item in tqdm(inputs.uploads, desc="uploading", unit="file"):
        bucket_name, _, blob_name = item.destination[len("gs://") :].partition("/")
        client.bucket(bucket_name).blob(blob_name).upload_from_filename(item.source)
        print(f"uploaded {item.source} -> {item.destination}")


# --- Compile -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _user_module_packaging_disabled() -> Iterator[None]:
    """Keeps KubeflowV2DagRunner from packaging module.py's folder into a wheel at compile time.

    By default the runner builds a wheel of every .py beside the module file and copies it to
    `{pipeline_root}/_wheels`, which needs Cloud Storage during compilation. Here module.py is
    already uploaded (to a content-addressed path), and the components load it from there, so
    the blueprint a dry run checks is exactly the one a real run submits.
    """
    key = "UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES"
    before = os.environ.get(key)
    os.environ[key] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def create_vertex_pipeline(settings: VertexSettings, inputs: GcsInputs) -> tfx_v1.dsl.Pipeline:
    """The shared pipeline with its Vertex AI parameters."""
    switched_on = settings.use_vertex_training or settings.use_vertex_endpoint
    return base_pipeline.create_pipeline(
        pipeline_root=settings.pipeline_root,
        data_root=inputs.data_root,
        module_file=inputs.module_file,
        serving_model_dir=settings.serving_model_dir,
        pipeline_name=settings.pipeline_name,
        train_steps=settings.train_steps,
        eval_steps=settings.eval_steps,
        min_eval_auc=settings.min_eval_auc,
        max_auc_decrease=settings.max_auc_decrease,
        beam_pipeline_args=beam_pipeline_args(settings),
        metadata_connection_config=None,  # Vertex AI keeps its own ML Metadata.
        enable_cache=settings.enable_caching,
        vertex_region=settings.region if switched_on else None,
        vertex_training_args=vertex_training_args(settings),
        vertex_serving_args=vertex_serving_args(settings),
        vertex_serving_image=(
            (settings.serving_image or default_serving_image(settings.region)) if settings.use_vertex_endpoint else None
        ),
        schema_file=inputs.schema_file,
        stop_on_data_problems=True,
        data_gate_image=TFX_IMAGE,  # The gate runs data_validation.py in the TFX image.
    )


def compile_pipeline(settings: VertexSettings, inputs: GcsInputs, output_file: str) -> dict[str, Any]:
    """Compiles the pipeline to a Vertex AI Pipelines JSON blueprint, validates it and returns it."""
    output_dir, filename = os.path.split(os.path.abspath(output_file))
    os.makedirs(output_dir, exist_ok=True)
    runner = tfx_v1.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx_v1.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=TFX_IMAGE),
        output_dir=output_dir,
        output_filename=filename,
    )
    # Transform and Trainer decide whether to package when they are built, so build them here.
    with _user_module_packaging_disabled():
        runner.run(create_vertex_pipeline(settings, inputs), write_out=True)
    with open(output_file, encoding="utf-8") as handle:
        blueprint = json.load(handle)
    validate_blueprint(blueprint, settings)
    return blueprint


def _tasks(blueprint: dict[str, Any]) -> dict[str, Any]:
    return blueprint["pipelineSpec"]["root"]["dag"]["tasks"]


def task_order(blueprint: dict[str, Any]) -> list[str]:
    """The tasks, each after every task it depends on (ties by name); ValueError on a cycle."""
    dependencies = {name: set(task.get("dependentTasks", [])) for name, task in _tasks(blueprint).items()}
    order: list[str] = []
    while dependencies:
        ready = sorted(name for name, needs in dependencies.items() if needs <= set(order))
        if not ready:
            raise ValueError(f"the blueprint's tasks depend on each other in a cycle: {sorted(dependencies)}")
        order.extend(ready)
        for name in ready:
            del dependencies[name]
    return order


def _executor(blueprint: dict[str, Any], task_name: str) -> dict[str, Any]:
    spec = blueprint["pipelineSpec"]
    component = _tasks(blueprint)[task_name]["componentRef"]["name"]
    return spec["deploymentSpec"]["executors"][spec["components"][component]["executorLabel"]]


def task_parameters(blueprint: dict[str, Any], task_name: str) -> dict[str, Any]:
    """A task's constant parameters, JSON strings decoded (e.g. custom_config as a dict)."""
    parameters = {}
    for name, value in _tasks(blueprint)[task_name].get("inputs", {}).get("parameters", {}).items():
        constant = value.get("runtimeValue", {}).get("constantValue", {})
        if "stringValue" in constant:
            text = constant["stringValue"]
            try:
                parameters[name] = json.loads(text)
            except ValueError:
                parameters[name] = text
        elif "intValue" in constant:
            parameters[name] = int(constant["intValue"])
        elif constant:
            parameters[name] = next(iter(constant.values()))
    return parameters


def validate_blueprint(blueprint: dict[str, Any], settings: VertexSettings) -> None:
    """Raises ValueError unless the blueprint is complete and consistent with the settings."""
    for key in ("displayName", "pipelineSpec", "runtimeConfig"):
        _require(key in blueprint, f"the blueprint has no {key!r}")
    _require(
        blueprint["runtimeConfig"].get("gcsOutputDirectory") == settings.pipeline_root,
        f"the blueprint writes to {blueprint['runtimeConfig'].get('gcsOutputDirectory')!r}, "
        f"not to {settings.pipeline_root!r}",
    )
    tasks = _tasks(blueprint)
    for name, task in tasks.items():
        for upstream in task.get("dependentTasks", []):
            _require(upstream in tasks, f"task {name!r} depends on {upstream!r}, which the blueprint lacks")
    task_order(blueprint)
    for name in tasks:
        container = _executor(blueprint, name).get("container")
        if container is not None:
            _require(
                container["image"] == TFX_IMAGE,
                f"task {name!r} runs image {container['image']!r}, not the compiling TFX's {TFX_IMAGE!r}",
            )


def beam_options(blueprint: dict[str, Any], task_name: str) -> list[str]:
    """The Beam options a task's container gets (after TFX's own executor arguments)."""
    args = _executor(blueprint, task_name).get("container", {}).get("args", [])
    marker = "--json_serialized_invocation_args"
    return args[args.index(marker) + 2 :] if marker in args else []


def summarize(blueprint: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per task, in run order: what runs, in which image, after what, with which settings."""
    rows = []
    for name in task_order(blueprint):
        executor = _executor(blueprint, name)
        container = executor.get("container")
        parameters = task_parameters(blueprint, name)
        if container and "--executor_class_path" in container.get("args", []):
            runs = container["args"][container["args"].index("--executor_class_path") + 1]
        elif container:  # A container component: its command, long arguments (source code) shortened.
            runs = " ".join(arg if len(arg) <= 40 else f"<{len(arg):,} characters>" for arg in container["command"][:3])
        else:
            runs = "ML Metadata query (" + ", ".join(executor) + ")"
        beam_args = beam_options(blueprint, name)
        rows.append(
            {
                "task": name,
                "after": ", ".join(sorted(_tasks(blueprint)[name].get("dependentTasks", []))),
                "runs": runs,
                "image": container["image"] if container else "(none: runs in Vertex AI)",
                "custom_config": sorted((parameters.get("custom_config") or {}).keys()),
                "beam_runner": next(
                    (arg.split("=", 1)[1] for arg in beam_args if arg.startswith("--runner=")), "DirectRunner"
                )
                if name in BEAM_COMPONENTS
                else "",
            }
        )
    return rows


# --- Submit ------------------------------------------------------------------------------------


def credentials_for(dry_run: bool):
    """Anonymous credentials for a dry run; otherwise the user's (Colab login or gcloud ADC)."""
    if dry_run:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    if "google.colab" in sys.modules:
        from google.colab import auth  # type: ignore[import-not-found]

        auth.authenticate_user()
    import google.auth

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return credentials


def job_labels(settings: VertexSettings) -> dict[str, str]:
    return {"tutorial": "tfx-cfpb", "tfx-version": tfx.__version__.replace(".", "-"), **settings.labels}


def build_pipeline_job(settings: VertexSettings, blueprint_path: str, credentials):
    """Builds the PipelineJob request from the blueprint; nothing is sent until `.submit()`."""
    from google.cloud import aiplatform

    return aiplatform.PipelineJob(
        display_name=settings.pipeline_name,
        template_path=blueprint_path,
        pipeline_root=settings.pipeline_root,
        enable_caching=settings.enable_caching,
        labels=job_labels(settings),
        project=settings.project,
        location=settings.region,
        credentials=credentials,
    )


def submit(job, settings: VertexSettings, wait: bool = False) -> str:
    """Submits the job as the service account; returns its console link. Needs the network."""
    job.submit(service_account=settings.service_account)
    link = (
        f"https://console.cloud.google.com/vertex-ai/locations/{settings.region}/pipelines/runs/"
        f"{job.name}?project={settings.project}"
    )
    print("submitted:", job.resource_name)
    print("follow it:", link)
    if wait:
        job.wait()
        print("finished:", job.state)
    return link


def endpoint_instances(serialized_examples: Sequence[bytes]) -> list[dict[str, Any]]:
    """The serving signature's input as a Vertex AI prediction request: base64 tf.Examples."""
    return [{"examples": {"b64": base64.b64encode(example).decode("ascii")}} for example in serialized_examples]


def find_endpoint(settings: VertexSettings, credentials):
    """The endpoint the Pusher deployed to, or None. Needs the network."""
    from google.cloud import aiplatform

    found = aiplatform.Endpoint.list(
        filter=f'display_name="{settings.endpoint_name}"',
        project=settings.project,
        location=settings.region,
        credentials=credentials,
    )
    return found[0] if found else None


def delete_endpoint(settings: VertexSettings, credentials) -> None:
    """Undeploys every model from the endpoint and deletes it, which stops its billing."""
    endpoint = find_endpoint(settings, credentials)
    if endpoint is None:
        print(f"no endpoint named {settings.endpoint_name!r} in {settings.project}/{settings.region}")
        return
    endpoint.undeploy_all()
    endpoint.delete()
    print("deleted", endpoint.resource_name)


# --- One call for the command line and the notebook --------------------------------------------


@dataclasses.dataclass
class Prepared:
    """What `prepare` produced: the run is ready to submit (or was checked, in a dry run)."""

    settings: VertexSettings
    dry_run: bool
    inputs: GcsInputs
    blueprint_path: str
    blueprint: dict[str, Any]
    job: Any
    credentials: Any


def prepare(
    settings: VertexSettings,
    dry_run: bool | None,
    output_dir: str,
    data_dir: str = os.path.join(REPO_ROOT, "data_local"),
    module_file: str = os.path.join(REPO_ROOT, "module.py"),
) -> Prepared:
    """Checks, uploads (unless a dry run), compiles and builds the PipelineJob, in that order."""
    dry_run = resolve_dry_run(settings, dry_run)
    check_settings(settings, dry_run)
    inputs = plan_uploads(settings, data_dir, module_file)
    credentials = credentials_for(dry_run)
    if not dry_run:
        upload(inputs, settings, credentials)
    blueprint_path = os.path.join(output_dir, f"{settings.pipeline_name}.json")
    blueprint = compile_pipeline(settings, inputs, blueprint_path)
    job = build_pipeline_job(settings, blueprint_path, credentials)
    return Prepared(settings, dry_run, inputs, blueprint_path, blueprint, job, credentials)


def describe(prepared: Prepared) -> str:
    """What was (or in a dry run, would be) uploaded and submitted, as text."""
    settings = prepared.settings
    lines = [("DRY RUN: nothing was uploaded or submitted" if prepared.dry_run else "REAL RUN"), ""]
    verb = "would upload" if prepared.dry_run else "uploaded"
    lines += [f"{verb}: {item.source} -> {item.destination}" for item in prepared.inputs.uploads]
    size = os.path.getsize(prepared.blueprint_path)
    lines += [
        "",
        f"blueprint: {prepared.blueprint_path} ({size:,} bytes, {len(_tasks(prepared.blueprint))} tasks)",
        f"image: {TFX_IMAGE}",
        "",
    ]
    request = prepared.job.to_dict()
    lines += [
        f"{'would submit' if prepared.dry_run else 'submits'} PipelineJob to "
        f"projects/{settings.project}/locations/{settings.region} as {settings.service_account}",
        f"  display name: {request.get('displayName')}",
        f"  pipeline root: {request.get('runtimeConfig', {}).get('gcsOutputDirectory')}",
        f"  caching: {'on' if settings.enable_caching else 'off'}",
        f"  labels: {json.dumps(request.get('labels', {}), sort_keys=True)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: same settings as the notebook's parameters cell."""
    defaults = VertexSettings()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    for field in dataclasses.fields(VertexSettings):
        if field.name == "labels":
            continue
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                type=lambda text: text.lower() in ("1", "true", "yes", "on"),
                default=default,
                metavar="true|false",
            )
        else:
            parser.add_argument(flag, type=type(default), default=default)
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="extra job label")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        default=None,
        help="check and compile only (the default while project, bucket or service account is a placeholder)",
    )
    mode.add_argument("--submit", dest="dry_run", action="store_false", help="upload, compile and submit")
    parser.add_argument("--wait", action="store_true", help="wait for the submitted run to finish")
    parser.add_argument(
        "--delete-endpoint",
        action="store_true",
        help="only undeploy and delete the endpoint named --endpoint-name (stops its billing)",
    )
    parser.add_argument(
        "--output-dir",
        default=os.path.join(REPO_ROOT, "outputs", "vertex_ai"),
        help="where the JSON blueprint is written",
    )
    parser.add_argument("--data-dir", default=os.path.join(REPO_ROOT, "data_local"))
    args = vars(parser.parse_args(argv))
    labels = dict(item.split("=", 1) for item in args.pop("label") if "=" in item)
    dry_run, wait, output_dir, data_dir, delete = (
        args.pop(key) for key in ("dry_run", "wait", "output_dir", "data_dir", "delete_endpoint")
    )
    settings = VertexSettings(**args, labels=labels)
    if delete:
        try:
            check_settings(settings, dry_run=False)
        except ValueError as error:
            parser.error(str(error))
        delete_endpoint(settings, credentials_for(dry_run=False))
        return 0
    try:
        prepared = prepare(settings, dry_run, output_dir, data_dir=data_dir)
    except ValueError as error:
        parser.error(str(error))
    print(describe(prepared))
    if not prepared.dry_run:
        submit(prepared.job, settings, wait=wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
