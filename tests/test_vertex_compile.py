"""The Vertex AI path, offline: every variant compiles to a blueprint that matches the local pipeline.

Google Cloud cannot be reached from the tests, so they stop at the network call: the upload is
checked against a fake Cloud Storage client and the submission against a fake job, while the
blueprint and the `aiplatform.PipelineJob` built from it are the real ones.
"""

import base64
import dataclasses
import datetime
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
import tfx
from tfx.v1.extensions import google_cloud_ai_platform as VERTEX

import base_pipeline
from conftest import REPO_ROOT, staged_data_local
from pipeline_tools.components import endpoint_cleanup, vertex_steps
from pipeline_tools.settings import LOCAL_BEAM_PIPELINE_ARGS, PipelineSettings, VertexServices
from pipeline_tools.vertex import blueprint as blueprints
from pipeline_tools.vertex import endpoint, images, runner, staging
from pipeline_tools.vertex import settings as vertex_settings
from pipeline_tools.vertex.images import TFX_IMAGE
from pipeline_tools.vertex.settings import VertexSettings

TF_VERSION = importlib.metadata.version("tensorflow")

DATA_DIR = str(REPO_ROOT / "data_local")
MODULE_FILE = str(REPO_ROOT / "module.py")
PIPELINE_IMAGE = f"us-central1-docker.pkg.dev/your-gcp-project/tfx-tutorial/cfpb-pipeline:{images.pipeline_image_tag()}"
REAL = dict(
    project="acme-ml-prod",
    bucket="acme-ml-pipelines",
    service_account="tfx-pipelines@acme-ml-prod.iam.gserviceaccount.com",
)
VARIANTS = {
    "plain": {},
    "vertex_training": dict(use_vertex_training=True, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1),
    "vertex_endpoint": dict(use_vertex_endpoint=True, endpoint_name="cfpb-disputes"),
    "dataflow": dict(use_dataflow=True, dataflow_max_workers=8),
    "all": dict(use_vertex_training=True, use_vertex_endpoint=True, use_dataflow=True, keep_previous_model=True),
}


def _compiled(tmp_path, variant):
    settings = VertexSettings(**VARIANTS[variant])
    inputs = staging.plan_uploads(settings, DATA_DIR, MODULE_FILE, str(tmp_path))
    path = str(tmp_path / "blueprint.json")
    return settings, inputs, path, runner.compile_pipeline(settings, inputs, path)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def compiled(request, tmp_path_factory):
    """(variant, settings, inputs, blueprint path, blueprint) for each variant, compiled once."""
    return (request.param, *_compiled(tmp_path_factory.mktemp(request.param), request.param))


def _local_dependencies():
    """Each local component's upstream components, from the pipeline LocalDagRunner runs."""
    settings, data_root = staged_data_local(tempfile.mkdtemp(prefix="staged-"))
    pipeline = base_pipeline.create_pipeline(
        settings,
        pipeline_root="/tmp/unused",
        data_root=data_root,
        module_file=MODULE_FILE,
        serving_model_dir="/tmp/unused",
    )
    return {
        component.id: sorted(upstream.id for upstream in component.upstream_nodes) for component in pipeline.components
    }


def _collapse_resolver(name):
    """On Vertex the Resolver becomes two tasks named after it; map them back to its id."""
    return "latest_blessed_model_resolver" if name.startswith("latest_blessed_model_resolver-") else name


def test_tasks_and_dependencies_match_the_local_pipeline(compiled):
    """The same graph; with an endpoint, one more task after the Pusher (tested below) that a local run has not."""
    _, _, _, _, blueprint = compiled
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    vertex_dependencies = {}
    for name, task in tasks.items():
        if name == "UndeployIdleModels":
            continue
        upstream = {_collapse_resolver(dependency) for dependency in task.get("dependentTasks", [])}
        vertex_dependencies.setdefault(_collapse_resolver(name), set()).update(upstream)
    assert {name: sorted(upstream) for name, upstream in vertex_dependencies.items()} == _local_dependencies()
    assert sorted(name for name in tasks if name.startswith("latest_blessed_model_resolver-")) == [
        "latest_blessed_model_resolver-model-blessing-resolver",
        "latest_blessed_model_resolver-model-resolver",
    ]
    order = blueprints.task_order(blueprint)
    for name, task in tasks.items():
        assert all(order.index(upstream) < order.index(name) for upstream in task.get("dependentTasks", []))


def test_tfx_components_run_in_tfx_image_and_ours_in_the_pipeline_image(compiled):
    _, _, _, _, blueprint = compiled
    tasks = blueprints.images(blueprint)
    ours = {"DataValidationGate", "AttachTrainingStatistics", "ModelGate", "UndeployIdleModels"}
    assert {name: image for name, image in tasks.items() if name in ours} == dict.fromkeys(
        ours & set(tasks), PIPELINE_IMAGE
    )
    assert {image for name, image in tasks.items() if name not in ours} == {TFX_IMAGE}
    cleanup = "UndeployIdleModels" in tasks
    # The twelve components minus the Resolver, plus the clean-up step with an endpoint.
    assert len(tasks) == 11 + cleanup


def test_the_gates_run_the_components_entrypoint_with_the_executor_input(compiled):
    _, settings, inputs, _, blueprint = compiled
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    assert "DataValidationGate" in tasks["Transform"]["dependentTasks"]
    assert sorted(tasks["DataValidationGate"]["dependentTasks"]) == [
        "ExampleValidator",
        "ImportSchemaGen",
        "StatisticsGen",
        "latest_blessed_model_resolver-model-resolver",  # The served model, whose data it compares with.
    ]
    steps = {
        "DataValidationGate": ["data-gate", "--reference", inputs.reference_statistics],
        "AttachTrainingStatistics": ["training-statistics"],
        # The gate's rules are the task's arguments (PipelineSettings' defaults here).
        "ModelGate": ["model-gate", "--min-auc", "0.5", "--min-examples", "300", "--min-positives", "50"],
    }
    for name, arguments in steps.items():
        container = blueprints.executor(blueprint, name)["container"]
        assert container["command"] == [*vertex_steps.ENTRYPOINT, *arguments, "--executor-input", "{{$}}"]
    assert inputs.reference_statistics.startswith(f"{settings.gcs_root}/reference/")
    assert blueprints.task_parameters(blueprint, "ImportSchemaGen")["schema_file"] == inputs.schema_file
    row = {row["task"]: row for row in blueprints.summarize(blueprint)}["DataValidationGate"]
    assert row["runs"] == "python -m pipeline_tools.components.entrypoint data-gate" and row["image"] == PIPELINE_IMAGE
    # The Pusher obeys the model gate, which reads the Evaluator's blessing and the served model.
    assert tasks["Pusher"]["inputs"]["artifacts"]["model_blessing"]["taskOutputArtifact"]["producerTask"] == "ModelGate"
    assert sorted(tasks["ModelGate"]["inputs"]["artifacts"]) == ["baseline_model", "evaluation", "model"]


def test_inputs_point_at_the_uploaded_copies(compiled):
    _, settings, inputs, _, blueprint = compiled
    # The spans: one folder per uploaded range; {SPAN} is resolved to the newest when each run starts.
    assert inputs.data_root == f"{settings.gcs_root}/spans" and inputs.spans == "201503-201512"
    example_gen = blueprints.task_parameters(blueprint, "CsvExampleGen")
    assert example_gen["input_base"] == inputs.data_root
    assert example_gen["input_config"] == {"splits": [{"name": "single_split", "pattern": "span-{SPAN}/*"}]}
    data = [item.destination for item in inputs.uploads if item.source.endswith("complaints.csv")]
    assert data[0] == f"{settings.gcs_root}/spans/span-201512/201503.csv" and len(data) == 10
    # Transform and Trainer load module.py from the user-code wheel, uploaded under the pipeline root.
    assert inputs.user_code.startswith(f"module@{settings.pipeline_root}/_wheels/tfx_user_code_cfpb_model-0.0+")
    for task in ("Transform", "Trainer"):
        parameters = blueprints.task_parameters(blueprint, task)
        assert parameters["module_path"] == inputs.user_code and "module_file" not in parameters
    assert blueprint["runtimeConfig"]["gcsOutputDirectory"] == settings.pipeline_root
    assert blueprints.task_parameters(blueprint, "Trainer")["train_args"] == {
        "num_steps": settings.pipeline.train_steps
    }


def test_trainer_custom_config_only_with_vertex_training(compiled):
    variant, settings, _, _, blueprint = compiled
    config = blueprints.task_parameters(blueprint, "Trainer")["custom_config"]
    executor = {row["task"]: row for row in blueprints.summarize(blueprint)}["Trainer"]
    if settings.use_vertex_training:
        assert config[VERTEX.ENABLE_VERTEX_KEY] is True
        assert config[VERTEX.VERTEX_REGION_KEY] == settings.region
        job = config[VERTEX.TRAINING_ARGS_KEY]
        assert job["project"] == settings.project
        assert job["job_spec"]["service_account"] == settings.service_account
        [pool] = job["job_spec"]["worker_pool_specs"]
        assert pool["container_spec"]["image_uri"] == TFX_IMAGE
        assert pool["machine_spec"]["machine_type"] == settings.training_machine_type
        if variant == "vertex_training":
            assert pool["machine_spec"]["accelerator_type"] == "NVIDIA_TESLA_T4"
            assert pool["machine_spec"]["accelerator_count"] == 1
        assert executor["runs"].startswith("tfx.extensions.google_cloud_ai_platform.trainer")
    else:
        assert not config
        assert executor["runs"] == "tfx.components.trainer.executor.GenericExecutor"


def test_pusher_endpoint_args_only_with_vertex_endpoint(compiled):
    _, settings, _, _, blueprint = compiled
    parameters = blueprints.task_parameters(blueprint, "Pusher")
    config = parameters["custom_config"]
    if settings.use_vertex_endpoint:
        assert config[VERTEX.ENABLE_VERTEX_KEY] is True
        assert config[VERTEX.VERTEX_REGION_KEY] == settings.region
        serving = config[VERTEX.SERVING_ARGS_KEY]
        assert (
            serving["endpoint_name"]
            == settings.endpoint_display_name
            == (settings.endpoint_name or "cfpb-consumer-disputes")
        )
        assert serving["project_id"] == settings.project
        assert serving["machine_type"] == settings.serving_machine_type
        # This tutorial's prediction container, with the TensorFlow that saved the model (not a prebuilt 2.15).
        assert config[VERTEX.VERTEX_CONTAINER_IMAGE_URI_KEY] == (
            f"us-central1-docker.pkg.dev/your-gcp-project/tfx-tutorial/tfx-serving:tf{TF_VERSION}"
        )
    else:
        assert not config
        assert parameters["push_destination"]["filesystem"]["base_directory"] == settings.serving_model_dir


def test_dataflow_args_reach_the_beam_components(compiled):
    _, settings, _, _, blueprint = compiled
    executors = blueprint["pipelineSpec"]["deploymentSpec"]["executors"]
    for task in blueprints.BEAM_COMPONENTS:
        args = executors[f"{task}_executor"]["container"]["args"]
        assert blueprints.beam_options(blueprint, task) == vertex_settings.beam_pipeline_args(settings)
        if settings.use_dataflow:
            assert "--runner=DataflowRunner" in args
            assert f"--project={settings.project}" in args and f"--region={settings.region}" in args
            assert f"--temp_location={settings.gcs_root}/dataflow/tmp" in args
            assert f"--max_num_workers={settings.dataflow_max_workers}" in args
            assert f"--machine_type={settings.dataflow_machine_type}" in args
            assert "--disk_size_gb=50" in args  # The TFX image is over 10 GB; Dataflow's default disk is 25 GB.
            assert f"--sdk_container_image={PIPELINE_IMAGE}" in args  # Beam's worker boot, on any TFX.
            assert "--labels=tutorial=tfx-cfpb" in args and "--labels=pipeline=cfpb-consumer-disputes" in args
        else:
            assert not any("DataflowRunner" in arg for arg in args)
            assert all(arg in args for arg in LOCAL_BEAM_PIPELINE_ARGS)


def test_pipeline_job_builds_offline_from_each_blueprint(compiled):
    _, settings, _, path, blueprint = compiled
    job = runner.build_pipeline_job(settings, path, runner.credentials_for(dry_run=True))
    request = job.to_dict()
    assert request["displayName"] == settings.pipeline.pipeline_name
    assert request["runtimeConfig"]["gcsOutputDirectory"] == settings.pipeline_root
    assert request["labels"]["tutorial"] == "tfx-cfpb"
    assert request["labels"]["tfx-version"] == tfx.__version__.replace(".", "-")
    assert request["labels"]["pipeline"] == settings.pipeline.pipeline_name
    assert set(request["pipelineSpec"]["root"]["dag"]["tasks"]) == set(
        blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    )
    caching = {
        task.get("cachingOptions", {}).get("enableCache", False)
        for task in request["pipelineSpec"]["root"]["dag"]["tasks"].values()
    }
    assert caching == {settings.pipeline.enable_cache}


def test_caching_off_reaches_every_task(tmp_path):
    settings = VertexSettings(pipeline=PipelineSettings(enable_cache=False))
    inputs = staging.plan_uploads(settings, DATA_DIR, MODULE_FILE, str(tmp_path))
    path = str(tmp_path / "blueprint.json")
    runner.compile_pipeline(settings, inputs, path)
    request = runner.build_pipeline_job(settings, path, runner.credentials_for(True)).to_dict()
    assert {
        task.get("cachingOptions", {}).get("enableCache", False)
        for task in request["pipelineSpec"]["root"]["dag"]["tasks"].values()
    } == {False}


def test_packaging_switch_is_restored_after_compiling(compiled):
    assert "UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES" not in os.environ


# --- Uploads: content-addressed, so Vertex AI's cache notices a change ------------------------


def test_upload_paths_follow_the_contents(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    (data / "notes.txt").write_text("not data")
    module_file = tmp_path / "module.py"
    module_file.write_text("# v1\n")
    settings = VertexSettings()
    wheels = str(tmp_path / "wheels")
    first = staging.plan_uploads(settings, str(data), str(module_file), wheels)
    names = [os.path.basename(item.source) for item in first.uploads]
    assert names[0] == "a.csv" and names[2:] == ["schema.pbtxt", "reference_statistics.pbtxt"]
    assert names[1].startswith("tfx_user_code_cfpb_model-0.0+") and names[1].endswith("-py3-none-any.whl")
    assert first.uploads[1].destination == f"{settings.pipeline_root}/_wheels/{names[1]}"
    assert first.reference_statistics.startswith("gs://your-gcs-bucket/cfpb-consumer-disputes/reference/")
    assert first.spans == ""  # A plain folder: uploaded as it is, to a folder named by its contents.
    assert first.schema_file.startswith("gs://your-gcs-bucket/cfpb-consumer-disputes/schema/")
    assert first.schema_file.endswith("/schema.pbtxt")
    assert first.data_root.startswith("gs://your-gcs-bucket/cfpb-consumer-disputes/data/")
    module_file.write_text("# v2\n")
    second = staging.plan_uploads(settings, str(data), str(module_file), wheels)
    assert second.user_code != first.user_code and second.data_root == first.data_root
    (data / "a.csv").write_text("x\n2\n")
    assert staging.plan_uploads(settings, str(data), str(module_file), wheels).data_root != first.data_root
    schema_file = tmp_path / "schema.pbtxt"
    schema_file.write_text((REPO_ROOT / "schema" / "schema.pbtxt").read_text() + "\n# reviewed again\n")
    assert (
        staging.plan_uploads(
            VertexSettings(pipeline=PipelineSettings(schema_file=str(schema_file))), str(data), str(module_file), wheels
        ).schema_file
        != first.schema_file
    )


def test_data_csvexamplegen_cannot_read_is_refused_before_any_upload(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text('x,y\n1,"unbalanced\n2,3\n')
    with pytest.raises(ValueError, match="a.csv lines 2-3: one record spans several lines"):
        staging.plan_uploads(VertexSettings(), str(data), MODULE_FILE, str(tmp_path))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: (str(tmp / "missing"), MODULE_FILE), "is not a folder"),
        (lambda tmp: (str(tmp), MODULE_FILE), "holds no .csv file"),
        (lambda tmp: (DATA_DIR, str(tmp / "nope.py")), "does not exist"),
    ],
)
def test_upload_plan_refuses_missing_inputs(tmp_path, make, message):
    data_dir, module_file = make(tmp_path)
    with pytest.raises(ValueError, match=message):
        staging.plan_uploads(VertexSettings(), data_dir, module_file, str(tmp_path))


# --- Dry run, placeholders, impossible settings ------------------------------------------------


def test_dry_run_is_the_default_while_placeholders_remain():
    assert VertexSettings().resolve_dry_run(None) is True
    assert VertexSettings(project="acme-ml-prod").resolve_dry_run(None) is True
    assert VertexSettings(**REAL).resolve_dry_run(None) is False
    assert VertexSettings(**REAL).resolve_dry_run(True) is True


@pytest.mark.parametrize(
    "override, named",
    [
        ({}, "project, bucket, service_account"),
        ({"project": ""}, "project"),
        ({"bucket": "your-gcs-bucket"}, "bucket"),
        ({"service_account": "x@your-gcp-project.iam.gserviceaccount.com"}, "service_account"),
    ],
)
def test_real_run_refuses_placeholders_before_uploading_or_compiling(tmp_path, monkeypatch, override, named):
    settings = VertexSettings(**dict(REAL if override else {}, **override))
    touched = []
    monkeypatch.setattr(staging, "upload", lambda *args: touched.append("upload"))
    monkeypatch.setattr(runner, "compile_pipeline", lambda *args: touched.append("compile"))
    monkeypatch.setattr(runner, "credentials_for", lambda *args: touched.append("auth"))
    with pytest.raises(ValueError, match=f"dry_run is off but {named} still hold placeholders"):
        runner.prepare(settings, dry_run=False, output_dir=str(tmp_path / "out"))
    assert touched == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "override, message",
    [
        ({"project": "Acme_Prod"}, "not a GCP project id"),
        ({"region": "central"}, "not a Google Cloud region"),
        ({"bucket": "gs://acme-ml-pipelines"}, "without 'gs://'"),
        ({"bucket": "A"}, "not a Cloud Storage bucket name"),
        ({"service_account": "tfx-pipelines"}, "not a service account email"),
        ({"pipeline_name": "CFPB pipeline"}, "lowercase letters, digits and hyphens"),
        ({"train_steps": 0}, "train_steps must be a positive integer"),
        ({"eval_steps": 2.5}, "eval_steps must be a positive integer"),
        ({"min_eval_auc": 1.5}, r"min_eval_auc must lie in \[0, 1\]"),
        ({"training_machine_type": ""}, "training_machine_type '' is not a machine type"),
        ({"accelerator_type": "NVIDIA_TESLA_T4"}, "go together"),
        ({"accelerator_count": 2}, "go together"),
        ({"accelerator_count": -1}, "non-negative integer"),
        ({"accelerator_type": "t4", "accelerator_count": 1}, "not a Vertex AI accelerator"),
        ({"dataflow_max_workers": 0}, "dataflow_max_workers must be a positive integer"),
        ({"endpoint_name": " "}, "endpoint_name"),
        ({"labels": {"Team": "ML"}}, "label 'Team'"),
    ],
)
def test_impossible_settings_are_named(override, message):
    """The settings refuse themselves when made, a dry run or not."""
    labels = override.get("labels", {})
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(VertexSettings.from_namespace({**REAL, **override}), labels=labels)


def test_placeholder_settings_are_well_formed_for_a_dry_run_and_refused_for_a_real_one():
    settings = VertexSettings()
    assert settings.placeholders() == ["project", "bucket", "service_account"]
    with pytest.raises(ValueError, match="dry_run is off but project, bucket, service_account still hold placeholders"):
        settings.check_real_run()
    VertexSettings(**REAL).check_real_run()


# --- The network steps, up to the network ------------------------------------------------------


class _FakeBlob:
    def __init__(self, log, bucket, name):
        self.log, self.bucket, self.name = log, bucket, name

    def upload_from_filename(self, filename):
        self.log.append((filename, f"gs://{self.bucket}/{self.name}"))


class _FakeStorageClient:
    log = []

    def __init__(self, project, credentials):
        self.log.append(("client", project))

    def bucket(self, name):
        client = self
        return type("Bucket", (), {"blob": lambda _, blob: _FakeBlob(client.log, name, blob)})()


def test_real_run_uploads_then_compiles_then_submits_as_the_service_account(tmp_path, monkeypatch):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    _FakeStorageClient.log = []
    monkeypatch.setattr(storage, "Client", _FakeStorageClient)
    monkeypatch.setattr("google.auth.default", lambda scopes: (AnonymousCredentials(), None))
    settings = VertexSettings(**REAL)
    prepared = runner.prepare(settings, dry_run=None, output_dir=str(tmp_path))
    assert prepared.dry_run is False
    assert _FakeStorageClient.log[0] == ("client", "acme-ml-prod")
    assert _FakeStorageClient.log[1:] == [(item.source, item.destination) for item in prepared.inputs.uploads]
    assert prepared.inputs.user_code.startswith(
        "module@gs://acme-ml-pipelines/cfpb-consumer-disputes/pipeline_root/_wheels/"
    )
    assert "DRY RUN" not in runner.report(
        settings, prepared.dry_run, prepared.inputs, prepared.blueprint_path, prepared.job
    )

    submitted = {}

    class FakeJob:
        name, resource_name, state = "run-1", "projects/1/locations/us-central1/pipelineJobs/run-1", "SUCCEEDED"

        def submit(self, service_account):
            submitted["service_account"] = service_account

        def wait(self):
            submitted["waited"] = True

    link = runner.submit(FakeJob(), settings, wait=True)
    assert submitted == {"service_account": settings.service_account, "waited": True}
    assert link == (
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/run-1?project=acme-ml-prod"
    )


def test_endpoint_instances_carry_the_serialized_examples():
    serialized = [b"\n\x00", b"\x01\xffbytes"]
    instances = endpoint.instances(serialized)
    assert [base64.b64decode(instance["examples"]["b64"]) for instance in instances] == serialized
    json.dumps(instances)  # The request body is JSON.


# --- Images: the pipeline's, Dataflow's workers, the endpoint's ------------------------------------


def test_the_pipeline_image_adds_beams_worker_boot_from_the_tfx_images_own_python_and_beam(tmp_path):
    """cloudbuild.yaml's first step reads the Beam SDK image from inside the TFX image: run here, it names ours.
    (tfx 1.21's image deleted /opt/apache/beam/boot, which Dataflow starts its workers with.)"""
    import apache_beam
    import yaml

    folder = REPO_ROOT / "pipeline_tools" / "vertex" / "containers" / "pipeline"
    first, second = yaml.safe_load((folder / "cloudbuild.yaml").read_text())["steps"]
    assert first["name"] == "${_TFX_IMAGE}" and first["entrypoint"] == "python"
    code = first["args"][1].replace("/workspace/beam_sdk_image", str(tmp_path / "beam_sdk_image"))
    subprocess.run([sys.executable, "-c", code], check=True)
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (tmp_path / "beam_sdk_image").read_text() == f"apache/beam_python{python}_sdk:{apache_beam.__version__}"
    assert "--build-arg BEAM_SDK_IMAGE=$$(cat /workspace/beam_sdk_image)" in second["args"][1]
    dockerfile = (folder / "Dockerfile").read_text()
    assert "COPY --from=beam /opt/apache/beam /opt/apache/beam" in dockerfile
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile
    assert images.copied_paths() == ["pipeline_tools/__init__.py", "pipeline_tools/components"]


def test_the_pipeline_image_tag_follows_what_it_copies(tmp_path, monkeypatch):
    tag = images.pipeline_image_tag()
    assert re.fullmatch(rf"tfx{re.escape(tfx.__version__)}-[0-9a-f]{{12}}", tag)
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "pipeline_tools", copy / "pipeline_tools", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(images, "REPO_ROOT", str(copy))
    monkeypatch.setattr(images, "PIPELINE_DOCKERFILE", str(copy / images.CONTAINERS / "pipeline" / "Dockerfile"))
    assert images.pipeline_image_tag() == tag
    (copy / "pipeline_tools" / "views.py").write_text("# not in the image\n")
    assert images.pipeline_image_tag() == tag
    with open(copy / "pipeline_tools" / "components" / "model_gate.py", "a") as handle:
        handle.write("# changed\n")
    assert images.pipeline_image_tag() != tag
    command = images.pipeline_build_command(PIPELINE_IMAGE, TFX_IMAGE, "acme-ml-prod")
    assert command.startswith(
        "gcloud builds submit . --config pipeline_tools/vertex/containers/pipeline/cloudbuild.yaml"
    )
    assert f"_TFX_IMAGE={TFX_IMAGE},_IMAGE={PIPELINE_IMAGE}" in command


def test_the_pipeline_image_is_a_setting_whose_tag_must_be_the_installed_tfx(tmp_path):
    mirror = f"europe-docker.pkg.dev/acme-ml-prod/mirror/tfx:{tfx.__version__}"
    settings = VertexSettings(tfx_image=mirror)  # Checked when made.
    inputs = staging.plan_uploads(settings, DATA_DIR, MODULE_FILE, str(tmp_path))
    compiled = runner.compile_pipeline(settings, inputs, str(tmp_path / "blueprint.json"))
    assert set(blueprints.images(compiled).values()) == {mirror, settings.pipeline_image_uri}
    with pytest.raises(ValueError, match="its tag must be the installed TFX version"):
        VertexSettings(tfx_image="gcr.io/tfx-oss-public/tfx:1.15.0")
    assert images.check_command(TFX_IMAGE) == f"gcloud container images describe {TFX_IMAGE}"
    assert images.check_command(mirror) == f"gcloud artifacts docker images describe {mirror}"


def test_the_endpoint_serves_with_the_tensorflow_that_saved_the_model():
    """The default prediction container is ours, for the installed TensorFlow; prebuilt ones say their dates."""
    settings = VertexSettings(**REAL, use_vertex_endpoint=True)
    image = f"us-central1-docker.pkg.dev/acme-ml-prod/tfx-tutorial/tfx-serving:tf{TF_VERSION}"
    assert settings.serving_image_uri == image
    command = images.serving_build_command(settings.serving_image_uri, settings.project)
    assert command.startswith("gcloud builds submit pipeline_tools/vertex/containers/serving --config ")
    assert f"_TF_VERSION={TF_VERSION},_IMAGE={image}" in command
    prebuilt = "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
    before, after = datetime.date(2026, 11, 27), datetime.date(2027, 1, 14)
    assert "support ended 2026-01-14, available until 2027-01-14" in images.prebuilt_serving_availability(
        prebuilt, before
    )
    assert "no longer available since 2027-01-14" in images.prebuilt_serving_availability(prebuilt, after)
    assert images.prebuilt_serving_availability(image) is None
    lines = runner.image_lines(dataclasses.replace(settings, serving_image=prebuilt))
    assert any(line.startswith("  prebuilt: ") and "2027-01-14" in line for line in lines)
    assert any("build it (the TensorFlow that saves the model)" in line for line in runner.image_lines(settings))


class _FakeDeployed:
    def __init__(self, id, create_time):
        self.id, self.create_time, self.display_name = id, create_time, f"model-{id}"


class _FakeEndpoint:
    resource_name = "projects/1/locations/us-central1/endpoints/9"

    def __init__(self, traffic_split, deployed):
        self.traffic_split, self.deployed, self.undeployed = traffic_split, deployed, []

    def list_models(self):
        return list(self.deployed)

    def undeploy(self, deployed_model_id, sync):
        self.undeployed.append(deployed_model_id)


def _endpoint_after_three_pushes():
    deployed = [_FakeDeployed("1", "2026-11-01"), _FakeDeployed("2", "2026-11-08"), _FakeDeployed("3", "2026-11-15")]
    return _FakeEndpoint({"3": 100, "1": 0}, deployed)


@pytest.mark.parametrize("keep_previous, undeployed", [(False, ["2", "1"]), (True, ["1"])])
def test_after_a_push_the_models_left_at_zero_traffic_are_undeployed(keep_previous, undeployed):
    fake = _endpoint_after_three_pushes()
    assert endpoint_cleanup.undeploy_idle_models(fake, keep_previous) == undeployed
    assert fake.undeployed == undeployed and "3" not in fake.undeployed  # The serving model is never touched.


def test_the_undeploy_step_finds_the_endpoint_by_name(monkeypatch, capsys):
    from google.cloud import aiplatform

    from pipeline_tools.components import entrypoint

    fake, calls = _endpoint_after_three_pushes(), []
    monkeypatch.setattr(aiplatform, "init", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setattr(aiplatform.Endpoint, "list", lambda filter: calls.append(filter) or [fake])
    arguments = ["endpoint-cleanup", "--project", "acme-ml-prod", "--region", "us-central1", "--endpoint-name", "cfpb"]
    arguments += ["--executor-input", json.dumps({"inputs": {"artifacts": {}}})]
    assert entrypoint.main(arguments) == 0
    assert calls == [{"project": "acme-ml-prod", "location": "us-central1"}, 'display_name="cfpb"']
    assert fake.undeployed == ["2", "1"] and "2 idle model(s) undeployed" in capsys.readouterr().out
    monkeypatch.setattr(aiplatform.Endpoint, "list", lambda filter: [])
    assert entrypoint.main(arguments) == 0 and "nothing was pushed yet" in capsys.readouterr().out


def test_the_undeploy_step_runs_after_each_push_only_with_an_endpoint(compiled):
    """It reads the Pusher's output: a step without inputs would be a cache hit on every run after the first."""
    _, settings, _, _, blueprint = compiled
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    if not settings.use_vertex_endpoint:
        assert "UndeployIdleModels" not in tasks
        return
    cleanup = tasks["UndeployIdleModels"]
    assert cleanup["inputs"]["artifacts"]["pushed_model"]["taskOutputArtifact"] == {
        "producerTask": "Pusher",
        "outputArtifactKey": "pushed_model",
    }
    container = blueprints.executor(blueprint, "UndeployIdleModels")["container"]
    assert container["image"] == PIPELINE_IMAGE
    arguments = container["command"][len(vertex_steps.ENTRYPOINT) :]
    assert arguments[:7] == [
        "endpoint-cleanup",
        "--project",
        settings.project,
        "--region",
        settings.region,
        "--endpoint-name",
        settings.endpoint_display_name,
    ]
    assert ("--keep-previous" in arguments) == settings.keep_previous_model


def test_vertex_switches_need_a_region():
    with pytest.raises(ValueError, match="VertexServices needs a region"):
        PipelineSettings(
            vertex=VertexServices(region="", image=TFX_IMAGE, pipeline_image=PIPELINE_IMAGE, user_code="module@x.whl")
        )


def test_command_line_dry_run_and_refusal(tmp_path, capsys):
    assert runner.main(["--output-dir", str(tmp_path), "--use-dataflow", "true"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "would upload" in out and "13 tasks" in out
    blueprint = json.loads((tmp_path / "cfpb-consumer-disputes.json").read_text())
    assert (
        "--runner=DataflowRunner"
        in blueprint["pipelineSpec"]["deploymentSpec"]["executors"]["Transform_executor"]["container"]["args"]
    )
    with pytest.raises(SystemExit):
        runner.main(["--output-dir", str(tmp_path / "refused"), "--submit"])
    assert "still hold placeholders" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_deleting_the_endpoint_needs_a_real_project(capsys, monkeypatch):
    monkeypatch.setattr(endpoint, "delete", lambda *args: pytest.fail("must not reach the network"))
    with pytest.raises(SystemExit):
        runner.main(["--delete-endpoint"])
    assert "still hold placeholders" in capsys.readouterr().err


def test_asking_the_endpoint_says_when_nothing_was_deployed(monkeypatch):
    settings = VertexSettings(**REAL, use_vertex_endpoint=True)
    monkeypatch.setattr(endpoint, "find", lambda *args: None)
    assert endpoint.predict(settings, None, [{"examples": {"b64": "AA=="}}]) is None

    class Deployed:
        def predict(self, instances):
            return type("Prediction", (), {"predictions": [0.25, {"dispute_probability": 0.5}][: len(instances)]})

    monkeypatch.setattr(endpoint, "find", lambda *args: Deployed())
    assert endpoint.predict(settings, None, [{}, {}]) == [0.25, 0.5]
