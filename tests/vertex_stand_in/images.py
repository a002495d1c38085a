"""What each image sets for the tasks that run in it: its Dockerfile's ENV lines, and the files it copies.

A container starts with its image's environment and nothing of the machine that submitted the
run. The stand-in runs every task with this machine's Python standing in for the image's (same
TFX, same libraries: the image of the TFX version that compiled the blueprint), and with only
what the image's Dockerfile sets:
  - TFX's image: the ENV lines of tfx/tools/docker/Dockerfile at the release's tag (the final
    stage and the stages it is built FROM); the base image's own ENV lines (its PATH, ...) are
    not in that file, and stand in here as PATH and HOME only.
  - the pipeline image (pipeline_tools/vertex/containers/pipeline/Dockerfile): TFX's, plus what
    that Dockerfile COPYs and its ENV lines, read from the file itself. It exists only once
    `build_pipeline_image` ran, as it exists on Google Cloud only once Cloud Build pushed it.
An image the catalogue does not know fails the task (as a pull of a missing image would).
"""

import dataclasses
import os
import re
import shutil
import sys

# tfx/tools/docker/Dockerfile, tag v1.16.0 (c4230755): stage "install" (FROM the DLVM base image).
# TFX_DEPENDENCY_SELECTOR comes from a build argument left empty for releases.
TFX_1_16_ENV = {"TFX_DEPENDENCY_SELECTOR": "", "pip": "/opt/conda/bin/pip"}
# Tag v1.21.0 (2d17c3f5): stage "install", FROM stage "base-with-gcc13" (its compiler ENV lines).
TFX_1_21_ENV = {
    **{
        name: f"/opt/conda/bin/x86_64-conda-linux-gnu-{tool}"
        for name, tool in (
            ("CC", "gcc"),
            ("CXX", "g++"),
            ("LD", "ld"),
            ("AR", "ar"),
            ("NM", "nm"),
            ("OBJCOPY", "objcopy"),
            ("OBJDUMP", "objdump"),
            ("RANLIB", "ranlib"),
            ("STRIP", "strip"),
        )
    },  # fmt: skip
    "BAZEL_COMPILER": "gcc",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_XLA_FLAGS": "--tf_xla_enable_xla_devices=false",
    "TFX_DEPENDENCY_SELECTOR": "",
    "TF_USE_LEGACY_KERAS": "1",
    "pip": "/opt/conda/bin/pip",
}
TFX_IMAGE_ENV = {"1.16.0": TFX_1_16_ENV, "1.21.0": TFX_1_21_ENV}


@dataclasses.dataclass(frozen=True)
class Image:
    uri: str
    environment: dict[str, str]


class ImageCatalogue:
    """The images tasks may run in: TFX's (for the installed TFX) and those built here."""

    def __init__(self, work_dir: str, tfx_version: str, python: str = sys.executable):
        if tfx_version not in TFX_IMAGE_ENV:
            raise ValueError(f"the stand-in knows TFX's image of {sorted(TFX_IMAGE_ENV)}, not {tfx_version}")
        self.work_dir = work_dir
        self.python = python
        self.tfx_image = Image(f"gcr.io/tfx-oss-public/tfx:{tfx_version}", dict(TFX_IMAGE_ENV[tfx_version]))
        self._images = {self.tfx_image.uri: self.tfx_image}

    def get(self, uri: str) -> Image:
        if uri not in self._images:
            raise KeyError(f"image {uri!r} does not exist (the stand-in knows {sorted(self._images)})")
        return self._images[uri]

    def build_pipeline_image(self, uri: str, dockerfile: str, context: str) -> Image:
        """What `gcloud builds submit` of the pipeline image makes: FROM TFX's image, then the Dockerfile's
        COPY (from the build context) and ENV lines. Multi-stage COPY --from lines copy Beam's worker
        boot, which no task here runs."""
        lines = _instructions(dockerfile)
        if not any(line.startswith("FROM ${TFX_IMAGE}") for line in lines):
            raise ValueError(f"{dockerfile} is not built FROM ${{TFX_IMAGE}}")
        root = os.path.join(self.work_dir, "images", re.sub(r"[^A-Za-z0-9_.-]", "_", uri))
        shutil.rmtree(root, ignore_errors=True)
        environment = dict(self.tfx_image.environment)
        for line in lines:
            words = line.split()
            if words[0] == "COPY" and not words[1].startswith("--from="):
                _copy(os.path.join(context, words[1]), _in_root(root, words[2]))
            elif words[0] == "ENV":
                name, _, value = line[len("ENV ") :].partition("=")
                environment[name.strip()] = _in_root(root, value.strip().strip('"')) if value.startswith("/") else value
        self._images[uri] = Image(uri, environment)
        return self._images[uri]

    def environment(self, uri: str, home: str) -> dict[str, str]:
        """A task's whole environment: the image's, a PATH to its Python and a HOME (the base image's)."""
        image = self.get(uri)
        return {"PATH": f"{os.path.dirname(self.python)}:/usr/bin:/bin", "HOME": home, **image.environment}


def _instructions(dockerfile: str) -> list[str]:
    with open(dockerfile, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def _in_root(root: str, path: str) -> str:
    """An absolute path of the image, inside the folder standing for the image's file system."""
    return os.path.join(root, path.lstrip("/"))


def _copy(source: str, target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isdir(source):
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)
