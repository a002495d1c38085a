"""Setting up a Google Cloud project for the tutorial: APIs, bucket, service account, roles, images.

Each step is one `gcloud` command with why it is needed; a step that can already be done (a bucket,
an account, a repository, an image) has a command that checks first, and is skipped when it
passes. The Vertex AI notebook prints the steps, and runs them when its `run_project_setup`
parameter says so; `python -m pipeline_tools.vertex.runner --project-setup` prints them too.
Running them needs the gcloud CLI (Colab has it) signed in as someone allowed to change the
project's IAM policy (an owner, or roles/resourcemanager.projectIamAdmin and the roles below).
"""

import dataclasses
import subprocess

from pipeline_tools.settings import REPO_ROOT
from pipeline_tools.vertex import images
from pipeline_tools.vertex.settings import VertexSettings

# What the pipeline's service account does, and the role that lets it (project-wide).
PIPELINE_ROLES = (
    ("roles/aiplatform.user", "run pipeline tasks, training jobs, models and endpoints"),
    ("roles/dataflow.developer", "start Dataflow jobs (use_dataflow)"),
    ("roles/dataflow.worker", "be the Dataflow workers' identity (use_dataflow)"),
    (
        "roles/artifactregistry.reader",
        "let Dataflow workers pull the pipeline image (Vertex AI's own pulls use its service agent)",
    ),
)
# What you, submitting the run, need yourself.
USER_ROLES = (
    ("roles/aiplatform.user", "create pipeline runs and schedules"),
    ("roles/cloudbuild.builds.editor", "build the images with Cloud Build"),
    ("roles/serviceusage.serviceUsageConsumer", "use the enabled APIs"),
)
APIS = (
    "aiplatform.googleapis.com",
    "storage.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "dataflow.googleapis.com",
    "compute.googleapis.com",
)


@dataclasses.dataclass(frozen=True)
class Step:
    why: str
    command: tuple[str, ...]
    done_if: tuple[str, ...] = ()  # A command whose success means the step is already done.

    def text(self) -> str:
        return f"# {self.why}\n{' '.join(self.command)}"


def _binding(kind: str, target: str, member: str, role: str, why: str) -> Step:
    command = ("gcloud", *kind.split(), "add-iam-policy-binding", target, f"--member={member}", f"--role={role}")
    return Step(why, command + (("--condition=None",) if kind == "projects" else ()))


def steps(settings: VertexSettings, user_email: str, project_number: str = "PROJECT_NUMBER") -> list[Step]:
    """The steps, in order, for settings' project, region, bucket, service account and images."""
    user = f"user:{user_email or 'YOU@example.com'}"
    found = _resources(settings) + _pipeline_rights(settings, user) + _your_rights(settings, user)
    found += _registry(settings, user, project_number) + _images(settings)
    return [_located(step, settings.region) for step in found]


def _resources(settings: VertexSettings) -> list[Step]:
    """The APIs, the bucket and the pipeline's service account."""
    project, bucket, account = settings.project, f"gs://{settings.bucket}", settings.service_account
    return [
        Step("the APIs the run uses", ("gcloud", "services", "enable", *APIS, f"--project={project}")),
        Step(
            "the bucket for data, artifacts and models, in the run's region",
            (
                "gcloud",
                "storage",
                "buckets",
                "create",
                bucket,
                f"--project={project}",
                f"--location={settings.region}",
                "--uniform-bucket-level-access",
            ),
            ("gcloud", "storage", "buckets", "describe", bucket, f"--project={project}"),
        ),  # fmt: skip
        Step(
            "the service account the pipeline runs as",
            ("gcloud", "iam", "service-accounts", "create", account.split("@")[0], f"--project={project}"),
            ("gcloud", "iam", "service-accounts", "describe", account, f"--project={project}"),
        ),
    ]


def _pipeline_rights(settings: VertexSettings, user: str) -> list[Step]:
    """What the pipeline's account may do; and who may act as it (you submit as it, it starts jobs as itself)."""
    account = settings.service_account
    agent = f"serviceAccount:{account}"
    found = [
        _binding("projects", settings.project, agent, role, f"the pipeline may {why}") for role, why in PIPELINE_ROLES
    ]
    found.append(
        _binding(
            "storage buckets",
            f"gs://{settings.bucket}",
            agent,
            "roles/storage.objectAdmin",
            "the pipeline reads and writes the bucket",
        )
    )
    acting = "roles/iam.serviceAccountUser"
    return found + [
        _binding("iam service-accounts", account, member, acting, f"{member} may act as the pipeline's account")
        for member in (user, agent)
    ]


def _your_rights(settings: VertexSettings, user: str) -> list[Step]:
    """What you need yourself to submit runs."""
    found = [_binding("projects", settings.project, user, role, f"you may {why}") for role, why in USER_ROLES]
    bucket = f"gs://{settings.bucket}"
    return found + [
        _binding(
            "storage buckets", bucket, user, "roles/storage.objectAdmin", "you upload the data and the user-code wheel"
        )
    ]


def _registry(settings: VertexSettings, user: str, project_number: str) -> list[Step]:
    """The Artifact Registry repository, and Cloud Build's rights: it runs as the Compute Engine default
    account (new projects), which must push the images and write logs, and which you must be allowed to use."""
    project, repository = settings.project, settings.artifact_repository
    build_account = f"{project_number}-compute@developer.gserviceaccount.com"
    builder = f"serviceAccount:{build_account}"
    create = ("gcloud", "artifacts", "repositories", "create", repository, "--repository-format=docker")
    describe = ("gcloud", "artifacts", "repositories", "describe", repository)
    location = (f"--location={settings.region}", f"--project={project}")
    return [
        Step("the Artifact Registry repository of the images you build", create + location, describe + location),
        _binding(
            "artifacts repositories",
            repository,
            builder,
            "roles/artifactregistry.writer",
            "Cloud Build may push images",
        ),
        _binding("projects", project, builder, "roles/logging.logWriter", "Cloud Build may write its logs"),
        _binding(
            "iam service-accounts",
            build_account,
            user,
            "roles/iam.serviceAccountUser",
            "you may start builds as Cloud Build's account",
        ),
    ]


def _images(settings: VertexSettings) -> list[Step]:
    """The images this tutorial builds: the pipeline image and, with an endpoint, the prediction
    container (unless the settings name images of your own)."""
    found = []
    if not settings.pipeline_image:
        image = settings.pipeline_image_uri
        build = images.pipeline_build_command(image, settings.image, settings.project)
        found.append(_image_step(image, build, "the pipeline image"))
    if settings.use_vertex_endpoint and not settings.serving_image:
        image = settings.serving_image_uri
        found.append(
            _image_step(image, images.serving_build_command(image, settings.project), "the prediction container")
        )
    return found


def _image_step(image: str, build: str, what: str) -> Step:
    check = tuple(images.check_command(image).split())
    return Step(f"{what}, built by Cloud Build (minutes)", tuple(build.split()), check)


def _located(step: Step, region: str) -> Step:
    """A repository binding needs its location."""
    if step.command[1:3] == ("artifacts", "repositories") and step.command[3] == "add-iam-policy-binding":
        return dataclasses.replace(step, command=step.command + (f"--location={region}",))
    return step


def project_number(project: str) -> str:
    """The project's number, which names Cloud Build's default account (needs gcloud)."""
    command = ["gcloud", "projects", "describe", project, "--format=value(projectNumber)"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def run(found: list[Step]) -> None:
    """Runs each step not already done, printing it first; stops at the first that fails (needs gcloud)."""
    for step in found:
        print(step.text(), flush=True)
        if step.done_if and subprocess.run(list(step.done_if), capture_output=True).returncode == 0:
            print("  already done", flush=True)
            continue
        subprocess.run(list(step.command), check=True, cwd=REPO_ROOT)  # gcloud builds submit . needs the root.
