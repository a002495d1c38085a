"""Which TFX stack this environment can run, and the exact fix when it can run none.

The notebooks' setup (pipeline_tools/notebook.py) prints `report()` first, and
scripts/setup_env.sh asks this module which Python to build the virtual environment with: the
supported stacks are defined here, once. Nothing here imports TFX or TensorFlow, and nothing
needs a recent Python: it runs on a fresh Colab session and before any install.

    python3 -m pipeline_tools.preflight                 # the diagnosis; exit status 1 if no stack fits
    python3 -m pipeline_tools.preflight --fits          # exit status 0 if a stack fits this Python, silent
    python3 -m pipeline_tools.preflight --expected-tfx  # the tfx version this Python's stack pins
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import subprocess
import sys
from typing import Tuple  # noqa: UP035

# typing.Tuple, not tuple[...]: this module runs on Pythons older than any stack, to say so.
Version = Tuple[int, ...]  # noqa: UP006


@dataclasses.dataclass(frozen=True)
class Stack:
    name: str
    tfx: str
    pythons: tuple[Version, ...]
    min_glibc: Version


# The two stacks requirements.txt pins (README, Versions), and the only place they are listed
# (a test keeps requirements.txt in step). tfx 1.21's ml-metadata and TFDV ship only
# manylinux_2_39 wheels; tfx 1.16 requires Python < 3.11.
STACKS = (
    Stack("A", "1.16.0", ((3, 10),), (2, 17)),
    Stack("B", "1.21.0", ((3, 11), (3, 12), (3, 13)), (2, 39)),
)


@dataclasses.dataclass(frozen=True)
class Environment:
    python: Version
    glibc: Version | None  # None: not glibc (macOS, Windows, musl).
    in_colab: bool
    installed_tfx: str | None


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    stack: Stack | None
    needs_install: bool
    problem: str = ""
    fix: str = ""


def _version(text: str) -> Version:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def current_environment() -> Environment:
    """This interpreter's Python, glibc, Colab-ness and installed tfx."""
    library, glibc = platform.libc_ver()
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("tfx")
        except PackageNotFoundError:
            installed = None
    except ImportError:  # pragma: no cover - Python < 3.8
        installed = None
    return Environment(
        python=tuple(sys.version_info[:3]),
        glibc=_version(glibc) if library == "glibc" and glibc else None,
        in_colab="google.colab" in sys.modules,
        installed_tfx=installed,
    )


def _text(version: Version) -> str:
    return ".".join(str(part) for part in version)


PYTHON_310_FIX = (
    "Use Python 3.10 (stack A, tfx 1.16), which runs on any glibc >= 2.17: "
    "`uv python install 3.10` or `pyenv install 3.10.13`, then `PYTHON=/path/to/python3.10 make tutorial`."
)
# Colab's older runtime versions (26.07 and earlier) run Python 3.11/3.12 on Ubuntu 22.04 (glibc 2.35).
COLAB_DEFAULT_RUNTIME_FIX = (
    "Switch to Colab's default runtime: Runtime > Change runtime type > Runtime version: Latest "
    "(Python 3.13 on Ubuntu 24.04, glibc 2.39), then run all cells again."
)


def diagnose(environment: Environment) -> Diagnosis:
    """The stack for this environment, whether it must be installed, or the problem and its fix."""
    python = environment.python[:2]
    by_python = next((stack for stack in STACKS if python in stack.pythons), None)
    if environment.glibc is None:
        return Diagnosis(
            None,
            False,
            "no glibc: TFX publishes wheels for Linux (manylinux) only",
            "Run in Colab, or in Linux (a VM, WSL2, or a container such as python:3.10-bookworm).",
        )
    if by_python is None:
        supported = ", ".join(_text(version) for stack in STACKS for version in stack.pythons)
        fix = PYTHON_310_FIX
        if environment.in_colab:
            fix = (
                "Colab's runtime changed: pick an older runtime version (Runtime > Change runtime type > "
                f"runtime version) whose Python is one of {supported}."
            )
        return Diagnosis(
            None, False, f"Python {_text(environment.python)} has no TFX release (supported: {supported})", fix
        )
    if environment.glibc < by_python.min_glibc:
        return Diagnosis(
            None,
            False,
            f"Python {_text(python)} needs tfx {by_python.tfx}, "
            f"whose wheels need glibc >= {_text(by_python.min_glibc)}; "
            f"this system has glibc {_text(environment.glibc)}",
            COLAB_DEFAULT_RUNTIME_FIX if environment.in_colab else PYTHON_310_FIX,
        )
    return Diagnosis(by_python, environment.installed_tfx != by_python.tfx)


def install_command(python_executable: str) -> list:
    """pip with Colab's lock (requirements-colab.txt, every package pinned: pipeline_tools/colab.py):
    with no unpinned name, pip cannot fall back to an old TFX such as 0.23.1, and Colab's kernel
    stack and the rest of its packages keep their versions wherever TFX allows."""
    return [python_executable, "-m", "pip", "install", "-r", "requirements-colab.txt"]


def run_with_progress(command: list, cwd: str) -> None:
    """Runs command, printing its output as it comes (a notebook shows no child's output by
    itself, and pip's lines are the install's progress); CalledProcessError on failure."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        print(line, end="", flush=True)
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, command)


def report(environment: Environment | None = None) -> str:
    """A one-screen diagnosis."""
    environment = environment or current_environment()
    diagnosis = diagnose(environment)
    lines = [
        f"where:         {'Google Colab' if environment.in_colab else 'not Colab (' + platform.system() + ')'}",
        f"Python:        {_text(environment.python)}",
        f"glibc:         {_text(environment.glibc) if environment.glibc else 'none'}",
        f"installed tfx: {environment.installed_tfx or 'none'}",
    ]
    if diagnosis.stack:
        stack = diagnosis.stack
        lines.append(
            f"stack:         {stack.name} (tfx {stack.tfx})"
            + (" - to install" if diagnosis.needs_install else " - ready")
        )
    else:
        lines += [f"stack:         none. {diagnosis.problem}", f"fix:           {diagnosis.fix}"]
    return "\n".join(lines)


def main(argv: list | None = None) -> int:
    """The diagnosis in a terminal, or the answers scripts/setup_env.sh asks for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fits", action="store_true", help="exit 0 if a stack fits this Python and glibc, silently")
    mode.add_argument("--expected-tfx", action="store_true", help="print the tfx version of this Python's stack")
    arguments = parser.parse_args(argv)
    diagnosis = diagnose(current_environment())
    if arguments.fits:
        return 0 if diagnosis.stack else 1
    if arguments.expected_tfx:
        if not diagnosis.stack:
            print(f"{diagnosis.problem}. {diagnosis.fix}", file=sys.stderr)
            return 1
        print(diagnosis.stack.tfx)
        return 0
    print(report())
    return 0 if diagnosis.stack else 1


if __name__ == "__main__":
    sys.exit(main())
