"""Google Colab: what the notebooks' setup cell installs there, and what that changes in Colab's own packages.

Colab has no virtual environment: the setup cell installs into the Python that already holds some
640 packages, Colab's kernel among them (tests/colab_stand_in/pip-freeze.txt lists them). So it
installs `requirements-colab.txt`, a lock of requirements.txt for Colab's Python made by
scripts/lock_requirements.sh from the inputs `lock_inputs` writes: a package Colab already has is
not pinned, so Colab's version stays unless TFX needs another, and the kernel stack (which Colab
warns must not be upgraded) is held at Colab's versions. `changes` names what TFX changes all the
same, for the setup cell's one line. Standard library only: it runs before anything is installed.

    python3 -m pipeline_tools.colab lock-inputs FREEZE FOLDER   # what scripts/lock_requirements.sh compiles
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from pipeline_tools.settings import REPO_ROOT

COLAB_LOCK = "requirements-colab.txt"
# Colab warns that upgrading ipython, ipykernel, tornado, prompt-toolkit or pyzmq can make the runtime
# crash repeatedly (colabtools#1110); the rest of its kernel and widget stack goes with them.
KERNEL_STACK = (
    "ipykernel", "ipython", "ipywidgets", "jupyter-client", "jupyter-core", "jupyter-server", "notebook",
    "prompt-toolkit", "pyzmq", "tornado", "traitlets",
)  # fmt: skip
# Colab's packages with native ops built against one TensorFlow release: when TFX moves TensorFlow,
# they must move with it. TFX's BulkInferrer imports tensorflow_text whenever it is installed, and
# catches only ImportError, so Colab's tensorflow-text 2.20 under TensorFlow 2.21 stops
# `import tfx.components` with "undefined symbol" (seen in the Colab stand-in, docs/colab_stand_in.md).
FOLLOW_TENSORFLOW = ("tensorflow-text", "ydf-tf")
# The changes a reader most needs to know of, first in the setup cell's line.
NOTABLE = ("tensorflow", "protobuf", "pyarrow", "tf-keras", "tensorboard")


def normalized(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: str) -> dict[str, str]:
    """{name: version} of the `name==version` lines of a freeze or a lock (direct URLs left out)."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
            if match:
                found[normalized(match.group(1))] = match.group(2)
    return found


def lock_inputs(requirements: str, freeze: str, folder: str) -> None:
    """colab.in (requirements.txt for Python 3.13, unpinned where Colab has the package, and Colab's
    packages that must follow TensorFlow), colab-kernel.txt
    (the kernel stack at Colab's versions: a constraint), colab-preferences.txt (Colab's versions)."""
    colab = pins(freeze)
    wanted = []
    with open(requirements, encoding="utf-8") as handle:
        for line in handle:
            requirement, _, marker = (part.strip() for part in line.split("#", 1)[0].partition(";"))
            if not requirement or requirement.startswith("-") or "3.10" in marker:  # Stack A's lines.
                continue
            name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0)
            wanted.append(name if normalized(name) in colab else requirement)
    wanted += [name for name in FOLLOW_TENSORFLOW if name in colab]  # Unpinned: a release for the lock's TF.
    files = {
        "colab.in": wanted,
        "colab-kernel.txt": [f"{name}=={colab[name]}" for name in KERNEL_STACK],
        "colab-preferences.txt": [f"{name}=={version}" for name, version in sorted(colab.items())],
    }
    for name, lines in files.items():
        with open(f"{folder}/{name}", "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


def changes(installed: dict[str, str], lock: str = f"{REPO_ROOT}/{COLAB_LOCK}") -> dict[str, tuple[str, str]]:
    """{name: (installed version, the lock's)} of the packages the install changes (installed: {name: version})."""
    wanted = pins(lock)
    return {
        name: (installed[name], wanted[name])
        for name in sorted(wanted)
        if name in installed and installed[name] != wanted[name]
    }


def changes_line(changed: dict[str, tuple[str, str]]) -> str:
    """The setup cell's one line about what TFX changes in Colab's own packages."""
    if not changed:
        return "Colab's own packages keep their versions."
    first = [name for name in NOTABLE if name in changed] + [name for name in changed if name not in NOTABLE]
    shown = ", ".join(f"{name} {changed[name][0]} -> {changed[name][1]}" for name in first[:3])
    more = f" and {len(changed) - 3} more ({COLAB_LOCK})" if len(changed) > 3 else ""
    return f"TFX 1.21 changes {len(changed)} of Colab's packages: {shown}{more}; Colab's kernel keeps its versions."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    inputs = steps.add_parser("lock-inputs", help="write the inputs of Colab's lock into FOLDER")
    inputs.add_argument("freeze", help="Colab's pip freeze")
    inputs.add_argument("folder")
    arguments = parser.parse_args(argv)
    lock_inputs(f"{REPO_ROOT}/requirements.txt", arguments.freeze, arguments.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
