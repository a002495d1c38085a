"""Suite 0: what a reader waits for, in a fresh copy of the repository, with the README's commands."""

import os
import shutil
from typing import Any

from benchmarks.harness import fresh_copy, median, timed


def measure_reader(work: str, repeats: int, full_suite: bool, log) -> dict[str, Any]:
    """0: what a reader waits for, in a fresh copy of the repository, with the README's commands.

    The install (a new .venv, pip's cache warm) is one run: the environment it makes is then reused,
    as a reader's is. The notebook (`make tutorial`'s script) and the fast tests run `repeats` times,
    each notebook run into a new output folder; the whole suite runs once when full_suite (it takes
    many minutes). Both leave out the tests marked `reports`, which check the reports this run makes.
    """
    fresh = os.path.join(work, "fresh_clone")
    fresh_copy(fresh)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    result: dict[str, Any] = {}
    log("install: scripts/setup_env.sh in a fresh copy (one run) ...")
    result["install_s"] = timed(["bash", "scripts/setup_env.sh"], fresh, os.path.join(work, "install.log"), env)
    notebook_runs = []
    for repeat in range(repeats):
        shutil.rmtree(os.path.join(fresh, "outputs"), ignore_errors=True)
        log(f"the notebook: scripts/run_tutorial.sh ({repeat + 1} of {repeats}) ...")
        notebook_runs.append(
            timed(["bash", "scripts/run_tutorial.sh"], fresh, os.path.join(work, f"tutorial_{repeat}.log"), env)
        )
    result["notebook_runs_s"] = notebook_runs
    result["notebook_s"] = median(notebook_runs)
    result["fresh_clone_s"] = round(result["install_s"] + notebook_runs[0], 2)
    fast_runs = []
    for repeat in range(repeats):
        log(f'the fast tests: scripts/run_tests.sh -m "not slow" ({repeat + 1} of {repeats}) ...')
        command = ["bash", "scripts/run_tests.sh", "-q", "-m", "not slow and not reports", "-p", "no:cacheprovider"]
        fast_runs.append(timed(command, fresh, os.path.join(work, f"fast_tests_{repeat}.log"), env))
    result["fast_tests_runs_s"] = fast_runs
    result["fast_tests_s"] = median(fast_runs)
    if full_suite:
        log("the whole test suite: scripts/run_tests.sh (one run) ...")
        command = ["bash", "scripts/run_tests.sh", "-q", "-m", "not reports", "-p", "no:cacheprovider"]
        result["tests_s"] = timed(command, fresh, os.path.join(work, "tests.log"), env)
        with open(os.path.join(work, "tests.log")) as handle:
            result["tests_summary"] = handle.read().strip().splitlines()[-1].strip("= ")
    shutil.rmtree(fresh, ignore_errors=True)  # Its .venv is some 2.5 GB.
    return result
