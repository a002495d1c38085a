"""Compiles the shared pipeline for Vertex AI Pipelines and submits it, from the notebook or a shell.

    python -m pipeline_tools.vertex.runner                   # dry run: compile and check, no network
    python -m pipeline_tools.vertex.runner --project my-project --bucket my-bucket \\
        --service-account pipelines@my-project.iam.gserviceaccount.com --submit --wait
    python -m pipeline_tools.vertex.runner --project my-project ... --delete-endpoint   # stop paying for it
    python -m pipeline_tools.vertex.runner --project my-project ... --schedule          # runs on a cron

The pipeline is `base_pipeline.create_pipeline`, the one the local notebook runs; only its
settings differ. A run has four steps: check the settings, upload the data and module.py to
Cloud Storage (`staging`), compile the pipeline to a JSON blueprint with KubeflowV2DagRunner,
and submit that blueprint as an `aiplatform.PipelineJob`, or put it on a schedule (`schedule`).

A dry run does everything that needs no network: it checks, plans the uploads, compiles,
validates the blueprint and builds the PipelineJob with anonymous credentials, and says what
would be uploaded and submitted. A real run refuses placeholder settings before it uploads or
compiles anything.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

from pipeline_tools import spans  # noqa: E402
from pipeline_tools.settings import (  # noqa: E402
    DATA_ROOT,
    MODULE_FILE,
    REPO_ROOT,
    PipelineSettings,
    add_arguments,
    from_arguments,
)
from pipeline_tools.vertex import blueprint as blueprints  # noqa: E402
from pipeline_tools.vertex import endpoint, images, project_setup, schedule, staging  # noqa: E402
from pipeline_tools.vertex.settings import (  # noqa: E402
    VertexSettings,
    beam_pipeline_args,
    pipeline_settings,
)

DEFAULT_OUTPUT_DIR = os.path.join(REPO_ROOT, "outputs", "vertex_ai")


@contextlib.contextmanager
def _user_module_packaging_disabled() -> Iterator[None]:
    """Keeps TFX from packaging module.py's folder into a wheel while the components are built.

    By default Transform and Trainer ask the runner to build the user-code wheel while compiling and
    to copy it to `{pipeline_root}/_wheels`, which needs Cloud Storage. Here staging builds the same
    wheel offline and uploads it with the data (user_code.py), and the components are pointed at it:
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


@dataclasses.dataclass(frozen=True)
class Destinations:
    """Where a run writes: every artifact, and the pushed models."""

    pipeline_root: str
    serving_model_dir: str

    @classmethod
    def of(cls, settings: VertexSettings) -> "Destinations":
        """The bucket's folders of a run on Vertex AI."""
        return cls(settings.pipeline_root, settings.serving_model_dir)


def create_vertex_pipeline(
    settings: VertexSettings, inputs: staging.GcsInputs, where: Destinations, module_file: str = MODULE_FILE
):
    """The shared pipeline with its Vertex AI settings and the staged inputs (built without TFX's own
    packaging of module.py: see _user_module_packaging_disabled)."""
    import base_pipeline

    with _user_module_packaging_disabled():
        return base_pipeline.create_pipeline(
            pipeline_settings(settings, inputs),
            pipeline_root=where.pipeline_root,
            data_root=inputs.data_root,
            module_file=module_file,
            serving_model_dir=where.serving_model_dir,
            beam_pipeline_args=beam_pipeline_args(settings),
            metadata_connection_config=None,  # Vertex AI keeps its own ML Metadata.
        )


def compile_pipeline(
    settings: VertexSettings,
    inputs: staging.GcsInputs,
    output_file: str,
    where: Destinations | None = None,
    module_file: str = MODULE_FILE,
) -> dict[str, Any]:
    """Compiles the pipeline to a Vertex AI Pipelines JSON blueprint, validates it and returns it.

    Pipeline spec schema 2.1: ExampleGen's driver hands the span it resolved to the executor as
    `parameter_values`, which only a 2.1 executor reads (schema 2.0's reads `parameters`, and globs the
    literal `span-{SPAN}/*`). `where` defaults to the bucket; the tests compile with local folders to
    execute the blueprint.
    """
    from tfx.orchestration.kubeflow.v2.kubeflow_v2_dag_runner import (
        KubeflowV2DagRunner,
        KubeflowV2DagRunnerConfig,
    )

    output_dir, filename = os.path.split(os.path.abspath(output_file))
    os.makedirs(output_dir, exist_ok=True)
    where = where or Destinations.of(settings)
    config = KubeflowV2DagRunnerConfig(default_image=settings.image, use_pipeline_spec_2_1=True)
    runner = KubeflowV2DagRunner(config=config, output_dir=output_dir, output_filename=filename)
    runner.run(create_vertex_pipeline(settings, inputs, where, module_file), write_out=True)
    with open(output_file, encoding="utf-8") as handle:
        blueprint = json.load(handle)
    blueprints.validate(blueprint, where.pipeline_root, {settings.image, settings.pipeline_image_uri})
    return blueprint


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


def build_pipeline_job(settings: VertexSettings, blueprint_path: str, credentials):
    """Builds the PipelineJob request from the blueprint; nothing is sent until `.submit()`."""
    from google.cloud import aiplatform

    return aiplatform.PipelineJob(
        display_name=settings.pipeline.pipeline_name,
        template_path=blueprint_path,
        pipeline_root=settings.pipeline_root,
        enable_caching=settings.pipeline.enable_cache,
        labels=settings.run_labels,
        project=settings.project,
        location=settings.region,
        credentials=credentials,
    )


def console_link(settings: VertexSettings, run_id: str) -> str:
    return f"https://console.cloud.google.com/vertex-ai/locations/{settings.region}/pipelines/runs/{run_id}?project={settings.project}"


def submit(job, settings: VertexSettings, wait: bool = False) -> str:
    """Submits the job as the service account; returns its console link. Needs the network."""
    job.submit(service_account=settings.service_account)
    link = console_link(settings, job.name)
    print("submitted:", job.resource_name)
    print("follow it:", link)
    print(f"to follow it again later instead of submitting another run: attach_to_run = {job.name!r}")
    if wait:
        job.wait()
        print("finished:", job.state)
    return link


def attach(settings: VertexSettings, credentials, run_id: str, wait: bool = False):
    """The run submitted earlier as run_id (its id, or its whole resource name), to follow instead of
    submitting the same run twice. Needs the network."""
    from google.cloud import aiplatform

    name = (
        run_id
        if run_id.startswith("projects/")
        else (f"projects/{settings.project}/locations/{settings.region}/pipelineJobs/{run_id}")
    )
    job = aiplatform.PipelineJob.get(
        resource_name=name, project=settings.project, location=settings.region, credentials=credentials
    )
    print("attached to:", job.resource_name, "| state:", job.state)
    print("follow it:", console_link(settings, job.name))
    if wait:
        job.wait()
        print("finished:", job.state)
    return job


@dataclasses.dataclass
class Prepared:
    """What `prepare` produced: the run is ready to submit (or was checked, in a dry run)."""

    settings: VertexSettings
    dry_run: bool
    inputs: staging.GcsInputs
    blueprint_path: str
    blueprint: dict[str, Any]
    job: Any
    credentials: Any


def prepare(
    settings: VertexSettings,
    dry_run: bool | None,
    output_dir: str = DEFAULT_OUTPUT_DIR,
    data_dir: str = DATA_ROOT,
    module_file: str = MODULE_FILE,
) -> Prepared:
    """Checks, uploads (unless a dry run), compiles and builds the PipelineJob, in that order."""
    dry_run = settings.resolve_dry_run(dry_run)
    if not dry_run:
        settings.check_real_run()
    inputs = staging.plan_uploads(settings, data_dir, module_file, wheels_dir=output_dir)
    credentials = credentials_for(dry_run)
    if not dry_run:
        staging.upload(inputs, settings, credentials)
    blueprint_path = os.path.join(output_dir, f"{settings.pipeline.pipeline_name}.json")
    blueprint = compile_pipeline(settings, inputs, blueprint_path, module_file=module_file)
    job = build_pipeline_job(settings, blueprint_path, credentials)
    return Prepared(settings, dry_run, inputs, blueprint_path, blueprint, job, credentials)


def image_lines(settings: VertexSettings) -> list[str]:
    """The images a run uses, each with the command that checks it exists (or builds it) first."""
    pipeline_image = settings.pipeline_image_uri
    lines = [
        f"TFX's components: {settings.image}",
        f"  check it exists: {images.check_command(settings.image)}",
        f"the repository's components{' and Dataflow workers' if settings.use_dataflow else ''}: {pipeline_image}",
        f"  check it exists: {images.check_command(pipeline_image)}",
    ]
    if not settings.pipeline_image:
        lines.append(f"  build it: {images.pipeline_build_command(pipeline_image, settings.image, settings.project)}")
    if settings.use_vertex_endpoint:
        serving = settings.serving_image_uri
        lines += [f"endpoint's prediction container: {serving}", f"  check it exists: {images.check_command(serving)}"]
        availability = images.prebuilt_serving_availability(serving)
        if availability:
            lines.append(f"  prebuilt: {availability}")
        elif not settings.serving_image:
            build = images.serving_build_command(serving, settings.project)
            lines.append(f"  build it (the TensorFlow that saves the model): {build}")
    return lines


def report(settings: VertexSettings, dry_run: bool, inputs: staging.GcsInputs, blueprint_path: str, job) -> str:
    """What was (or in a dry run, would be) uploaded and submitted, as text."""
    lines = [("DRY RUN: nothing was uploaded or submitted" if dry_run else "REAL RUN"), ""]
    verb = "would upload" if dry_run else "uploaded"
    if inputs.spans:
        lines.append(f"spans {inputs.spans}, read by CsvExampleGen as {inputs.data_root}/{spans.PATTERN}")
    lines += [f"{verb}: {item.source} -> {item.destination}" for item in inputs.uploads]
    with open(blueprint_path, encoding="utf-8") as handle:
        task_count = len(blueprints.tasks(json.load(handle)))
    lines += ["", f"blueprint: {blueprint_path} ({os.path.getsize(blueprint_path):,} bytes, {task_count} tasks)"]
    lines += image_lines(settings) + [""]
    request = job.to_dict()
    lines += [
        f"{'would submit' if dry_run else 'submits'} PipelineJob to "
        f"projects/{settings.project}/locations/{settings.region} as {settings.service_account}",
        f"  display name: {request.get('displayName')}",
        f"  pipeline root: {request.get('runtimeConfig', {}).get('gcsOutputDirectory')}",
        f"  caching: {'on' if settings.pipeline.enable_cache else 'off'}",
        f"  labels: {json.dumps(request.get('labels', {}), sort_keys=True)}",
    ]
    return "\n".join(lines)


def upload_data(settings: VertexSettings, data_dir: str, credentials) -> staging.GcsInputs:
    """Uploads only the data (the next span range, for the runs a schedule starts). Needs the network."""
    data_root, staged_spans, uploads = staging.plan_data(settings, data_dir)
    inputs = staging.GcsInputs(data_root, "", None, uploads, spans=staged_spans)  # The data only.
    staging.upload(inputs, settings, credentials)
    print(f"spans {staged_spans or '(plain CSV files)'} in {data_root}: the next run reads them")
    return inputs


def parse_arguments(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The command line: the notebook's parameters as flags, and what to do."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, VertexSettings)
    add_arguments(parser, PipelineSettings)
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
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--schedule",
        action="store_true",
        help="upload, compile and create a schedule (--schedule-cron) instead of submitting one run",
    )
    action.add_argument(
        "--upload-data", action="store_true", help="only upload the data (the span range --spans) for the next run"
    )
    for name, meaning in (("pause", "pause"), ("resume", "resume"), ("delete", "delete")):
        action.add_argument(
            f"--{name}-schedule",
            dest="schedule_action",
            action="store_const",
            const=name,
            help=f"only {meaning} this pipeline's schedule",
        )
    action.add_argument(
        "--attach", metavar="RUN_ID", help="only follow the run submitted earlier as RUN_ID (with --wait, to its end)"
    )
    action.add_argument(
        "--project-setup", action="store_true", help="only print the gcloud commands that set the project up"
    )
    action.add_argument(
        "--delete-endpoint",
        action="store_true",
        help="only undeploy and delete the endpoint named --endpoint-name (stops its billing)",
    )
    parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, help="where the JSON blueprint is written")
    parser.add_argument("--data-dir", default=DATA_ROOT, help="the CSV files to upload (default: data_local/)")
    return parser, parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: same settings as the notebook's parameters cell."""
    parser, arguments = parse_arguments(argv)
    only = arguments.delete_endpoint or arguments.schedule_action or arguments.upload_data or arguments.attach
    try:
        labels = dict(item.split("=", 1) for item in arguments.label if "=" in item)
        pipeline = from_arguments(PipelineSettings, arguments)
        settings = from_arguments(VertexSettings, arguments, labels=labels, pipeline=pipeline)
        if arguments.project_setup:
            print("\n\n".join(step.text() for step in project_setup.steps(settings, user_email="")))
            return 0
        if only:
            settings.check_real_run()  # Each of these acts on the project at once.
            if arguments.upload_data:
                staging.plan_data(settings, arguments.data_dir)
        else:
            prepared = prepare(settings, arguments.dry_run, arguments.output_dir, data_dir=arguments.data_dir)
            if arguments.schedule and prepared.dry_run:
                schedule.create(prepared.job, settings, dry_run=True)  # Refuses, saying why.
    except ValueError as error:
        parser.error(str(error))
    if only:
        credentials = credentials_for(dry_run=False)
        if arguments.attach:
            attach(settings, credentials, arguments.attach, wait=arguments.wait)
        elif arguments.delete_endpoint:
            endpoint.delete(settings, credentials)
        elif arguments.upload_data:
            upload_data(settings, arguments.data_dir, credentials)
        else:
            schedule.change(settings, credentials, arguments.schedule_action)
        return 0
    print(report(settings, prepared.dry_run, prepared.inputs, prepared.blueprint_path, prepared.job))
    if arguments.schedule:
        print(schedule.plan(settings, len(blueprints.tasks(prepared.blueprint))))
        schedule.create(prepared.job, settings, dry_run=prepared.dry_run)
    elif not prepared.dry_run:
        submit(prepared.job, settings, wait=arguments.wait)
    return 0


if __name__ == "__main__":
    sys.exit(main())
