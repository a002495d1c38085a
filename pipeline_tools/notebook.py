"""The notebooks' setup, as one call (which stack this kernel runs, the install on Colab, the paths), and
the code they show.

Each notebook's first cell clones the repository on Colab (or finds it), puts it on sys.path and
calls `setup()`. Everything else a setup needs lives here, so the two notebooks share it.
"""

import os
import sys
from pathlib import Path

from pipeline_tools import colab, preflight, quiet
from pipeline_tools.settings import REPO_ROOT


def setup() -> Path:
    """Prints the diagnosis; installs the pinned stack on Colab (then asks for a restart); returns the repository.

    Raises RuntimeError with the exact fix when no stack can run here, or when a kernel outside
    Colab lacks the stack (start Jupyter from the project's .venv).
    """
    print(preflight.report())
    environment = preflight.current_environment()
    diagnosis = preflight.diagnose(environment)
    if diagnosis.stack is None:
        raise RuntimeError(f"{diagnosis.problem}. {diagnosis.fix}")
    if diagnosis.needs_install and environment.in_colab:
        # Exact pins for every package (Colab's lock): pip cannot fall back to tfx 0.23.1, and Colab's kernel stays.
        changed = colab.changes(installed_versions())
        preflight.run_with_progress(preflight.install_command(sys.executable), cwd=REPO_ROOT)
        print(colab.changes_line(changed))
        print(
            f"Installed tfx {diagnosis.stack.tfx}. Restart the session (Runtime > Restart session), then run all cells."
        )
        raise SystemExit
    if diagnosis.needs_install:
        raise RuntimeError(
            f"this kernel has tfx {environment.installed_tfx or 'not installed'}, the stack needs "
            f"{diagnosis.stack.tfx}: run scripts/setup_env.sh and start Jupyter from .venv (README, Open the notebook)"
        )
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.
    quiet.install()  # Before TensorFlow is imported: the log lines no reader can act on go.
    print("repository:", REPO_ROOT)
    return Path(REPO_ROOT)


def installed_versions() -> dict[str, str]:
    """{name: version} of every package installed in this Python, names as pip compares them. A package
    installed twice (Colab's pip in /usr/local, Debian's or Ubuntu's beside it) counts as the copy Python
    imports: the first on sys.path, as pip sees it too."""
    from importlib.metadata import distributions

    versions: dict[str, str] = {}
    for found in distributions():  # In sys.path order.
        versions.setdefault(colab.normalized(found.metadata["Name"]), found.version)
    return versions


def show_code(*objects) -> None:
    """Displays the source of each function or class as it is in the file that runs (inspect), so what the
    notebook shows of base_pipeline.py and module.py cannot drift from what the pipeline does."""
    import inspect

    from IPython.display import Markdown, display

    parts = []
    for shown in objects:
        lines, first = inspect.getsourcelines(shown)
        path = os.path.relpath(inspect.getsourcefile(shown), REPO_ROOT)
        parts.append(f"`{path}`, line {first}:\n\n```python\n{''.join(lines).rstrip()}\n```")
    display(Markdown("\n\n".join(parts)))
