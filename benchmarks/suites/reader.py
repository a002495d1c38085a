"""Suite 0: what a reader waits for, in a fresh copy of the repository, with the README's commands."""

import dataclasses
import os
import shutil
from typing import Any

from benchmarks.harness import fresh_copy, median, timed


@dataclasses.dataclass(frozen=True)
class ReaderResults:
    """Seconds a reader waits: the install, the notebook's and the fast tests' runs, the whole suite."""

    install_s: float
    notebook_runs_s: list[float]
    fast_tests_runs_s: list[float]
    tests_s: float | None = None  # None: the whole suite was not run.
    tests_summary: str = ""  # Its last line, e.g. "337 passed, 2 skipped in 740.00s".

    @property
    def notebook_s(self) -> float:
        return median(self.notebook_runs_s)

    def as_json(self, cold_s: float, cached_s: float) -> dict[str, Any]:
        """As the report's .json holds it, with the cold and the fully cached run's wall time beside."""
        result: dict[str, Any] = {
            "install_s": self.install_s,
            "notebook_runs_s": self.notebook_runs_s,
            "notebook_s": self.notebook_s,
            "fresh_clone_s": round(self.install_s + self.notebook_runs_s[0], 2),
            "fast_tests_runs_s": self.fast_tests_runs_s,
            "fast_tests_s": median(self.fast_tests_runs_s),
        }
        if self.tests_s is not None:
            result.update(tests_s=self.tests_s, tests_summary=self.tests_summary)
        return {**result, "cold_s": cold_s, "cached_s": cached_s}


def measure_reader(work: str, repeats: int, full_suite: bool, log) -> ReaderResults:
    """0: what a reader waits for, in a fresh copy of the repository, with the README's commands.

    The install (a new .venv, pip's cache warm) is one run: the environment it makes is then reused,
    as a reader's is. The notebook (`make tutorial`'s script) and the fast tests run `repeats` times,
    each notebook run into a new output folder; the whole suite runs once when full_suite (it takes
    many minutes). Both leave out the tests marked `reports`, which check the reports this run makes.
    """
    fresh = os.path.join(work, "fresh_clone")
    fresh_copy(fresh)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    log("install: scripts/setup_env.sh in a fresh copy (one run) ...")
    install_s = timed(["bash", "scripts/setup_env.sh"], fresh, os.path.join(work, "install.log"), env)
    notebook_runs = []
    for repeat in range(repeats):
        shutil.rmtree(os.path.join(fresh, "outputs"), ignore_errors=True)
        log(f"the notebook: scripts/run_tutorial.sh ({repeat + 1} of {repeats}) ...")
        notebook_runs.append(
            timed(["bash", "scripts/run_tutorial.sh"], fresh, os.path.join(work, f"tutorial_{repeat}.log"), env)
        )
    fast_runs = []
    for repeat in range(repeats):
        log(f'the fast tests: scripts/run_tests.sh -m "not slow" ({repeat + 1} of {repeats}) ...')
        command = ["bash", "scripts/run_tests.sh", "-q", "-m", "not slow and not reports", "-p", "no:cacheprovider"]
        fast_runs.append(timed(command, fresh, os.path.join(work, f"fast_tests_{repeat}.log"), env))
    result = ReaderResults(install_s, notebook_runs, fast_runs)
    if full_suite:
        log("the whole test suite: scripts/run_tests.sh (one run) ...")
        command = ["bash", "scripts/run_tests.sh", "-q", "-m", "not reports", "-p", "no:cacheprovider"]
        tests_s = timed(command, fresh, os.path.join(work, "tests.log"), env)
        with open(os.path.join(work, "tests.log")) as handle:
            summary = handle.read().strip().splitlines()[-1].strip("= ")
        result = dataclasses.replace(result, tests_s=tests_s, tests_summary=summary)
    shutil.rmtree(fresh, ignore_errors=True)  # Its .venv is some 2.5 GB.
    return result
