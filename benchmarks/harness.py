"""How the benchmark measures: a pipeline run in a child process (wall time, peak memory, each
component's seconds from ML Metadata), a command's seconds, medians, where a run's component wrote its
outputs, and where the measurement ran."""

import dataclasses
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from pipeline_tools import metadata

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of the local runner, or the median of several (runs_wall_s: every run's wall time)."""

    wall_s: float
    peak_rss_mb: float
    components: dict[str, dict[str, Any]]  # Per component, in the order they started: seconds ("s"), state.
    runs_wall_s: tuple[float, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """As the report's .json holds it."""
        return {**dataclasses.asdict(self), "runs_wall_s": list(self.runs_wall_s)}


REPEATS = 3


def run_pipeline(data_root: str, output_root: str, train_steps: int, extra: Sequence[str] = ()) -> Run:
    """Runs the local runner in a child process; returns wall time, peak memory, per-component times."""
    command = [
        sys.executable,
        "-m",
        "pipeline_tools.local_runner",
        "--data-root",
        data_root,
        "--output-root",
        output_root,
        "--train-steps",
        str(train_steps),
        *extra,
    ]
    log_path = output_root + ".log"
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        raise RuntimeError(f"pipeline run failed ({' '.join(command)}):\n{tail}")
    components = component_times(os.path.join(output_root, "metadata.sqlite"))
    return Run(round(wall, 2), round(usage.ru_maxrss / 1024, 1), components)


def median_run(runs: Sequence[Run]) -> Run:
    """The run with the median wall time (its components are the report's), every run's wall time beside it."""
    ordered = sorted(runs, key=lambda run: run.wall_s)
    return dataclasses.replace(ordered[(len(ordered) - 1) // 2], runs_wall_s=tuple(run.wall_s for run in runs))


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2)


def timed(command: Sequence[str], cwd: str, log_path: str, env: dict[str, str] | None = None) -> float:
    """Seconds a command takes; its output goes to log_path; a failure raises with the log's tail."""
    started = time.perf_counter()
    with open(log_path, "w") as log:
        code = subprocess.call(list(command), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
    seconds = round(time.perf_counter() - started, 2)
    if code != 0:
        with open(log_path) as log:
            raise RuntimeError(f"{' '.join(command)} failed ({code}):\n{log.read()[-3000:]}")
    return seconds


def component_times(metadata_path: str) -> dict[str, dict[str, Any]]:
    """Per component of the latest run, in the order they started: seconds from registration to last update, state."""

    latest = metadata.runs(metadata_path)[-1]
    return {
        execution.component: {"s": round(execution.seconds, 2), "state": execution.state}
        for execution in latest.executions
    }


def run_output(output_root: str, component: str, key: str, run: int = -1) -> str:
    """Where a run's component wrote its output key (ML Metadata, not the newest folder on disk): the
    latest run's, or, with run=0, the first run's (in the cache suite's roots, the cold run)."""

    found = metadata.runs(os.path.join(output_root, "metadata.sqlite"))[run].output(component, key)
    if found is None:
        raise RuntimeError(f"run {run} in {output_root} has no {component} {key}")
    return found.uri


def pipeline_order() -> list[str]:
    """The component ids in the order LocalDagRunner runs them (the pipeline's, upstream first)."""
    from pipeline_tools import local_runner

    with tempfile.TemporaryDirectory() as folder:
        _, arguments = local_runner.parse_arguments(["--output-root", folder])
        return [component.id for component in local_runner.build(arguments).components]


def fresh_copy(target: str) -> None:
    """What a reader starts from: `git clone` of this checkout (its last commit), or, outside a git
    checkout (stack B's root file system gets `git archive`), every file but environments and outputs."""
    if os.path.isdir(os.path.join(REPO_ROOT, ".git")):
        subprocess.run(["git", "clone", "--quiet", REPO_ROOT, target], check=True)
        return
    ignore = shutil.ignore_patterns(".venv", "outputs", "__pycache__", ".pytest_cache", "*.egg-info")
    shutil.copytree(REPO_ROOT, target, ignore=ignore, symlinks=True)


def environment() -> dict[str, Any]:
    """Date, machine, commit and stack of this benchmark run."""
    import apache_beam
    import tensorflow as tf
    import tfx

    from pipeline_tools import preflight

    memory_kb = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    with open("/proc/cpuinfo") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "unknown")
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        commit += " with uncommitted changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = os.environ.get("BENCHMARK_COMMIT", "unknown (not a git checkout)")
    stack = next((stack.name for stack in preflight.STACKS if stack.tfx == tfx.__version__), "?")
    glibc = platform.libc_ver()[1]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024**2:.1f} GiB",
        "stack": f"{stack}: Python {platform.python_version()}, tfx {tfx.__version__}, TensorFlow {tf.__version__}, "
        f"Apache Beam {apache_beam.__version__}, glibc {glibc}",
        "stack_name": stack,
    }
