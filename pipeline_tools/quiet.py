"""Silences the log lines a reader cannot act on, each one named with the reason it is harmless.

An executed notebook should show what the reader should read: component progress, tables,
charts, answers. TensorFlow, TFX, Beam and the Google client libraries log much else into it,
notes meant for their own developers. This module drops exactly those lines, listed in `NOISE`
with why each says nothing about this tutorial, and nothing else: a warning or an error that
is not listed still shows, and so does everything written to stderr by other means.

Call `install()` before TensorFlow is imported (the notebooks' setup does; so do the command-line
runners): `TF_CPP_MIN_LOG_LEVEL` is read once, when TensorFlow's C++ library loads.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Noise:
    """One known line: the logger that writes it, a regular expression its message starts with, and
    why it is harmless."""

    logger: str
    message: str
    why: str


NOISE = (
    Noise(
        "absl",
        re.escape("Tables initialized inside a tf.function"),
        "tf.Transform saves its vocabulary lookups this way on purpose; the model serves them once per call",
    ),
    Noise(
        "absl",
        "Examples artifact does not have payload_format custom property",
        "Transform's transformed examples carry no payload format in tfx 1.16; the fallback, tf.Example, is right",
    ),
    Noise(
        "absl",
        re.escape("ArtifactQuery.property_predicate is not supported"),
        "LocalDagRunner's input resolution notes a filter it applies another way; every input resolves",
    ),
    Noise(
        "absl",
        re.escape("ContextQuery.property_predicate is not supported"),
        "as above, for contexts",
    ),
    Noise(
        "absl",
        "Fallback to non-ZetaSQL contexts execution query",
        "ML Metadata 1.17 (tfx 1.21) ships without ZetaSQL; TFX filters the contexts in Python instead, same result",
    ),
    Noise(
        "apache_beam.runners.interactive.interactive_environment",
        "Dependencies required for Interactive Beam",
        "Interactive Beam's PCollection views, which TFX does not use, need extra packages",
    ),
    Noise(
        "tensorflow",
        # "From <file>:<line>: <function> (from <module>) is deprecated and will be removed ..."
        r"From .* is deprecated and will be removed",
        "deprecation notes about calls inside tfx-bsl and TFMA, which this repository cannot change",
    ),
)

# Messages logged by TensorFlow below WARNING ("Assets written to ...", "struct2tensor is not
# available.") are progress notes for TensorFlow's developers.
QUIET_BELOW = {"tensorflow": logging.WARNING}

WARNINGS = (
    # (category, message regex, module regex, why)
    (
        FutureWarning,
        "You are using a non-supported Python version",
        "",
        "google-api-core's note that Python 3.10 will lose support: known; stack B runs Python 3.13",
    ),
    (
        FutureWarning,
        "Support for google-cloud-storage < 3.0.0",
        "",
        "google-cloud-aiplatform's note about the storage client that tfx 1.16 pins below 3",
    ),
    (
        RuntimeWarning,
        "invalid value encountered in divide",
        "tensorflow_model_analysis",
        "TFMA's recall of a product slice without a dispute is 0/0: the table shows it as NaN",
    ),
)


# Lines TensorFlow's C++ library writes to stderr while it is imported, before TF_CPP_MIN_LOG_LEVEL
# applies or at ERROR level although nothing failed: TF 2.16's pip build registers its CUDA
# plugins twice (on a machine without a GPU too); TF 2.21 logs its start-up notes through absl
# before absl's logging is set up. Compared with the start of each line after its time stamp and level.
IMPORT_LINES = (
    "Unable to register cuFFT factory",
    "Unable to register cuDNN factory",
    "Unable to register cuBLAS factory",
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",  # The second line of the one above.
    "TF-TRT Warning: Could not find TensorRT",
)
# "2026-11-27 07:17:14.691551: E external/.../cuda_fft.cc:479] ..." (TF 2.16), "I0000 00:00:1795765931.906546
# 2529 port.cc:153] ..." (absl, TF 2.21), "WARNING: ..." (absl before it is set up), or the bare line.
_CPP_LINE = re.compile(r"^(?:\S+ \S+: [IWEF] \S+\] |[IWEF]\d{4} \S+\s+\d+ \S+\] |WARNING: )?(?P<message>.*)$")

# TFX builds the user-code wheel (module.py and base_pipeline.py) with `python setup.py
# bdist_wheel` in a child process and installs it with `pip install --target`, both writing to the
# notebook: some 120 lines of "running build_py", "copying module.py -> build/lib", a deprecation
# box, pip's "Successfully installed". The children inherit these settings: setuptools reads the
# extra configuration file named by DIST_EXTRA_CONFIG (verbose = 0), pip reads PIP_QUIET.
WHEEL_BUILD_CONFIG = Path(__file__).with_name("quiet_wheel_build.cfg")
WHEEL_BUILD_ENVIRONMENT = {
    "DIST_EXTRA_CONFIG": str(WHEEL_BUILD_CONFIG),
    "PIP_QUIET": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
# setuptools' warning that `setup.py bdist_wheel` is deprecated: TFX's call, not ours to change.
WHEEL_BUILD_WARNING = "ignore:setup.py install is deprecated"


class _DropKnown(logging.Filter):
    """Drops the records of one logger whose message starts with a known pattern, or whose level is too low."""

    def __init__(self, patterns: list[str], below: int):
        super().__init__()
        self._known = re.compile("|".join(f"(?:{pattern})" for pattern in patterns)) if patterns else None
        self._below = below

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self._below:
            return False
        try:
            message = record.getMessage()
        except Exception:  # A record whose arguments do not format is not ours to judge.
            return True
        return self._known is None or not self._known.match(message)


_installed: dict[str, _DropKnown] = {}


def install(import_tensorflow: bool = True) -> None:
    """Installs the filters (once per process), the settings the wheel build inherits, and
    TensorFlow's C++ log level (if not set already); then imports TensorFlow, dropping only the
    `IMPORT_LINES` it writes (`import_tensorflow=False` leaves the import to the caller)."""
    # TensorFlow's C++ INFO and WARNING lines go ("Local rendezvous is aborting with status:
    # OUT_OF_RANGE: End of sequence" at the end of every pass over a dataset, "Could not find
    # TensorRT", oneDNN notes); its errors stay.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name, value in WHEEL_BUILD_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if WHEEL_BUILD_WARNING not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), WHEEL_BUILD_WARNING]))
    # With PYTHONDONTWRITEBYTECODE set (Docker images often set it), setuptools adds "byte-compiling is
    # disabled, skipping" twice per wheel build; unset, the build writes .pyc files into its temporary folder.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in {noise.logger for noise in NOISE} | set(QUIET_BELOW):
        if name in _installed:
            continue
        patterns = [noise.message for noise in NOISE if noise.logger == name]
        _installed[name] = _DropKnown(patterns, QUIET_BELOW.get(name, logging.NOTSET))
        logging.getLogger(name).addFilter(_installed[name])
    ignore_known_warnings()
    if import_tensorflow and "tensorflow" not in sys.modules:
        _import_tensorflow_dropping_known_lines()


def _import_tensorflow_dropping_known_lines() -> None:
    """Imports TensorFlow with the stderr file descriptor sent to a file, then writes back every line
    of it but those in IMPORT_LINES (an import error is raised as always, its lines written back too)."""
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if keeps_import_line(line):
                    print(line, file=sys.stderr)


def keeps_import_line(line: str) -> bool:
    """Whether a line TensorFlow wrote to stderr during its import is shown (not one of IMPORT_LINES)."""
    match = _CPP_LINE.match(line)
    return not (match and match["message"].startswith(IMPORT_LINES))


def ignore_known_warnings() -> None:
    """Adds an "ignore" filter for each warning in `WARNINGS`, in front of the filters already there."""
    for category, message, module, _ in WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(message), category=category, module=module)
