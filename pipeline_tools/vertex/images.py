"""The container images a Vertex AI run uses: which, where they come from, and how to build and check them.

  TFX's image        gcr.io/tfx-oss-public/tfx:<installed TFX>: TFX's standard components run in it;
                     it must be the TFX that compiled the blueprint.
  the pipeline image TFX's image plus Beam's worker boot and pipeline_tools/components/
                     (containers/pipeline/): the repository's own components and Dataflow's workers.
  the serving image  the endpoint's prediction container (containers/serving/): the TensorFlow that
                     saved the model; Vertex AI's prebuilt TensorFlow images stop at 2.15.

Nothing here reaches the network: it names images, and prints the commands that build or check them.
"""

import datetime
import hashlib
import importlib.metadata
import os
import re

import tfx

from pipeline_tools.settings import REPO_ROOT

TFX_IMAGE = f"gcr.io/tfx-oss-public/tfx:{tfx.__version__}"
CONTAINERS = "pipeline_tools/vertex/containers"  # The Dockerfiles, relative to the repository's root.
PIPELINE_DOCKERFILE = os.path.join(REPO_ROOT, CONTAINERS, "pipeline", "Dockerfile")

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


def tensorflow_version() -> str:
    return importlib.metadata.version("tensorflow")


def copied_paths(dockerfile: str = PIPELINE_DOCKERFILE) -> list[str]:
    """The repository paths a Dockerfile COPYs from its build context (the repository's root)."""
    with open(dockerfile, encoding="utf-8") as handle:
        lines = [line.split() for line in handle if line.startswith("COPY ") and "--from=" not in line]
    return [words[1] for words in lines]


def _files(path: str) -> list[str]:
    absolute = os.path.join(REPO_ROOT, path)
    if os.path.isfile(absolute):
        return [path]
    found = []
    for folder, folders, names in os.walk(absolute):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        found += [
            os.path.relpath(os.path.join(folder, name), REPO_ROOT)
            for name in sorted(names)
            if not name.endswith(".pyc")
        ]
    return found


def pipeline_image_tag() -> str:
    """tfx<version>-<12 hex digits of a hash of the Dockerfile and every file it copies>."""
    digest = hashlib.sha256()
    for path in [os.path.relpath(PIPELINE_DOCKERFILE, REPO_ROOT)] + [f for p in copied_paths() for f in _files(p)]:
        digest.update(path.encode() + b"\0")
        with open(os.path.join(REPO_ROOT, path), "rb") as handle:
            digest.update(handle.read() + b"\0")
    return f"tfx{tfx.__version__}-{digest.hexdigest()[:12]}"


def registry_image(region: str, project: str, repository: str, name: str, tag: str) -> str:
    """An image in the project's Artifact Registry."""
    return f"{region}-docker.pkg.dev/{project}/{repository}/{name}:{tag}"


def pipeline_build_command(image: str, tfx_image: str, project: str) -> str:
    """The one command that builds the pipeline image (from the repository's root) with Cloud Build."""
    return (
        f"gcloud builds submit . --config {CONTAINERS}/pipeline/cloudbuild.yaml "
        f"--substitutions=_TFX_IMAGE={tfx_image},_IMAGE={image} --project {project}"
    )


def serving_build_command(image: str, project: str) -> str:
    """The one command that builds this tutorial's prediction container with Cloud Build."""
    return (
        f"gcloud builds submit {CONTAINERS}/serving --config {CONTAINERS}/serving/cloudbuild.yaml "
        f"--substitutions=_TF_VERSION={tensorflow_version()},_IMAGE={image} --project {project}"
    )


def check_command(image: str) -> str:
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
        + f"; the model is saved by TensorFlow {tensorflow_version()}"
    )
