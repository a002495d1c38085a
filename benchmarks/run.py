"""Measures the pipeline on this machine and writes a report: what a reader waits for, cost, cache,
scaling, serving, quality.

    .venv/bin/python benchmarks/run.py             # about 35 minutes on 2 cores (stack A)
    .venv/bin/python benchmarks/run.py --quick     # a smoke run of every measurement (one run each, small)
    bash scripts/benchmark_stack_b.sh              # the same on stack B (tfx 1.21, Python 3.13)

Writes benchmarks/results/<python>-tfx<version>.md (the report), .json (every raw number) and
.png (time per component against row count), then the summary table of every stack's .json
(`summary.md`, the table at the top of benchmarks/README.md). Every pipeline run is `python -m
pipeline_tools.local_runner` in a child process, so its wall time includes what a user waits for
(imports, Beam start-up) and its peak memory is the child's own. Per-component times come from
ML Metadata, which records when each execution was registered and when it was last updated.
Every time is the median of --repeats runs (3), except where the report says one run.
"""

import argparse
import csv
import datetime
import glob
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
from pipeline_tools import columns, quiet  # noqa: E402
from pipeline_tools.settings import DATA_ROOT, PipelineSettings  # noqa: E402
from pipeline_tools.vertex.blueprint import BEAM_COMPONENTS  # noqa: E402

quiet.install(import_tensorflow=False)  # The known start-up noise of TensorFlow and Google Cloud, as in the notebooks.

MULTI_PROCESSING_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
REPEATS = 3
# What a reader waits for, and the targets of issue 16 (stack A): (key, what, target in seconds or None).
READER_ROWS = (
    ("fresh_clone_s", "fresh clone to a pushed model (install with a warm package cache, then the notebook)", None),
    ("install_s", "of which the install (`scripts/setup_env.sh`, a new `.venv`)", None),
    ("notebook_s", "the notebook under papermill (`make tutorial` once `.venv` exists)", 90),
    ("cold_s", "a cold `pipeline_tools.local_runner` run on data_local", 60),
    ("cached_s", "a fully cached rerun (nothing changed, second rerun)", 10),
    ("tests_s", "the test suite, `make test`, once `.venv` exists", 600),
    ("fast_tests_s", 'the fast tests, `make test-fast` (`-m "not slow"`)', 120),
)


# --- Data made at benchmark time -------------------------------------------------------------


def read_rows(data_root: str = DATA_ROOT) -> tuple[list[str], list[dict[str, str]]]:
    """The header and every row of data_local's monthly spans, oldest first."""
    from pipeline_tools import serving

    rows = serving.read_rows(data_root)
    return list(rows[0]), rows


def write_rows(path: str, header: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def perturb(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A light change of a resampled row: one narrative word dropped and two neighbours swapped.

    Copies must differ, or the hash split would send every copy of a row to the same split.
    """
    words = row[columns.NARRATIVE].split(" ")
    if len(words) > 3:
        del words[rng.randrange(len(words))]
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return dict(row, **{columns.NARRATIVE: " ".join(words)})


def resample(rows: Sequence[dict[str, str]], factor: int, seed: int = 0) -> list[dict[str, str]]:
    """factor x the rows: the originals once, the rest drawn with replacement and perturbed."""
    rng = random.Random(seed)
    extra = [perturb(rng.choice(rows), rng) for _ in range(len(rows) * (factor - 1))]
    return list(rows) + extra


def random_split(rows: Sequence[dict[str, str]], seed: int, eval_fraction: float = 0.1):
    """A seeded train/eval split of the rows (the same one for the pipeline and the baseline)."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_eval = int(len(rows) * eval_fraction)
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]


# --- Running the pipeline and reading ML Metadata --------------------------------------------


def run_pipeline(data_root: str, output_root: str, train_steps: int, extra: Sequence[str] = ()) -> dict[str, Any]:
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
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "components": components}


def median_run(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (its components are the report's), every run's wall time beside it."""
    ordered = sorted(runs, key=lambda run: run["wall_s"])
    return {**ordered[(len(ordered) - 1) // 2], "runs_wall_s": [run["wall_s"] for run in runs]}


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
    from pipeline_tools import metadata

    latest = metadata.runs(metadata_path)[-1]
    return {
        execution.component: {"s": round(execution.seconds, 2), "state": execution.state}
        for execution in latest.executions
    }


def evaluation(output_root: str) -> dict[str, float]:
    """The Evaluator's overall AUC, accuracy and example count of the latest run."""
    import tensorflow_model_analysis as tfma

    from pipeline_tools.components import artifacts

    evaluated = tfma.load_eval_result(_latest_output(output_root, "Evaluator", "evaluation"))
    values = artifacts.overall_metrics(evaluated)
    return {
        name: values[key]
        for name, key in (("auc", "auc"), ("accuracy", "binary_accuracy"), ("examples", "example_count"))
    }


# --- Serving, the baseline, and the model without orchestration -------------------------------


def serving_latency(model_dir: str, rows: Sequence[dict[str, str]], repeats: int) -> dict[str, Any]:
    """p50 and p95 of the pushed model's answer to raw rows, one at a time and 256 at a time."""
    from pipeline_tools import serving
    from pipeline_tools.schema import read_curated

    schema = read_curated()  # What ImportSchemaGen read.
    signature = serving.load_signature(model_dir)
    result = {}
    for batch in (1, 256):
        requests = [rows[i : i + batch] for i in range(0, batch * 8, batch)]
        for request in requests[:3]:
            serving.predict(signature, request, schema)  # Warm-up: the first calls trace and allocate.
        times = []
        for i in range(repeats):
            started = time.perf_counter()
            serving.predict(signature, requests[i % len(requests)], schema)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
        result[f"batch_{batch}"] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "examples_per_s": round(batch / (p50 / 1000), 1),
            "calls": repeats,
        }
    return result


def baselines(train: Sequence[dict[str, str]], evaluate: Sequence[dict[str, str]]) -> dict[str, dict[str, float]]:
    """Majority class, and TF-IDF (narrative) + one-hot (categoricals, ZIP prefix) logistic regression."""
    from pipeline_tools import baselines as simple_models

    return simple_models.scores(train, evaluate).as_dict()


def train_without_orchestration(output_root: str, train_steps: int, eval_steps: int) -> float:
    """Does what run_fn does (module.py's model, training and export) in plain TF; returns seconds.

    It reads the run's transformed examples with tf.data instead of TFX's data accessor, and no
    launcher, ML Metadata or artifact bookkeeping is involved.
    """
    import tensorflow as tf
    import tensorflow_transform as tft

    import module

    transform_graph = _latest_output(output_root, "Transform", "transform_graph")
    examples = _latest_output(output_root, "Transform", "transformed_examples")
    started = time.perf_counter()
    tf_transform_output = tft.TFTransformOutput(transform_graph)
    spec = tf_transform_output.transformed_feature_spec()

    def dataset(split: str, batch_size: int) -> tf.data.Dataset:
        return tf.data.experimental.make_batched_features_dataset(
            glob.glob(os.path.join(examples, f"Split-{split}", "*")),
            batch_size,
            spec,
            reader=lambda files: tf.data.TFRecordDataset(files, compression_type="GZIP"),
            label_key=module.LABEL_KEY,
            shuffle_seed=module.SEED,
        )

    model = module.build_keras_model(tf_transform_output)
    train_rows = sum(1 for _ in tf.data.TFRecordDataset(glob.glob(os.path.join(examples, "Split-train", "*")), "GZIP"))
    plan = module.training_plan(train_rows, train_steps)
    train, evaluate = dataset("train", module.TRAIN_BATCH_SIZE), dataset("eval", module.EVAL_BATCH_SIZE)
    module.train(model, train, evaluate, plan, eval_steps, verbose=0)
    with tempfile.TemporaryDirectory() as saved:
        module.export_serving_model(model, tf_transform_output, saved)
    return round(time.perf_counter() - started, 2)


# --- The whole benchmark ----------------------------------------------------------------------


def measure_cache(work: str, header: list[str], rows: list[dict[str, str]], steps: int, repeats: int, log):
    """1-3, in `repeats` output roots: cold, a first rerun, a fully cached rerun, a changed hyperparameter.

    Each kind is the median of its runs over the roots (one ML Metadata store per root).
    """
    data_1x = os.path.join(work, "data_1x")
    write_rows(os.path.join(data_1x, "complaints.csv"), header, rows)
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm_first": [], "warm": [], "changed_hyperparameter": []}
    for repeat in range(repeats):
        root = os.path.join(work, f"run_1x_{repeat}")
        for key, message, train_steps in (
            ("cold", "cold run", steps),
            ("warm_first", "first rerun", steps),
            ("warm", "rerun again (fully cached)", steps),
            ("changed_hyperparameter", "changed train_steps", steps + 100),
        ):
            log(f"{message} ({repeat + 1} of {repeats}) ...")
            runs[key].append(run_pipeline(data_1x, root, train_steps))
    results: dict[str, Any] = {key: median_run(value) for key, value in runs.items()}
    results["changed_hyperparameter"]["change"] = f"train_steps {steps} -> {steps + 100}"
    results["warm_over_cold"] = round(results["warm"]["wall_s"] / results["cold"]["wall_s"], 3)
    results["warm_first_over_cold"] = round(results["warm_first"]["wall_s"] / results["cold"]["wall_s"], 3)
    return results


def measure_serving_and_limit(work: str, rows, steps: int, cold: dict[str, Any], repeats: int, quick: bool, log):
    """6 and 8, on the first cold run's pushed model and transformed data."""
    from pipeline_tools import serving

    root = os.path.join(work, "run_1x_0")
    log("serving latency ...")
    latency = serving_latency(serving.latest_model_dir(os.path.join(root, "serving_model")), rows, 50 if quick else 300)
    log("training without orchestration ...")
    plain = [train_without_orchestration(root, steps, PipelineSettings().eval_steps) for _ in range(repeats)]
    limit = {
        "plain_keras_s": median(plain),
        "plain_keras_runs_s": plain,
        "trainer_component_s": cold["components"]["Trainer"]["s"],
        "pipeline_wall_s": cold["wall_s"],
    }
    return {"serving": latency, "limit": limit}


def measure_scaling(work: str, header, rows, steps: int, factors: list[int], repeats: int, cold, log):
    """4-5: the pipeline on resamples of the data, and Beam in one process against two (at the second size)."""

    def runs(data: str, name: str, extra: Sequence[str] = ()) -> dict[str, Any]:
        measured = []
        for repeat in range(repeats):
            root = os.path.join(work, f"{name}_{repeat}")
            measured.append(run_pipeline(data, root, steps, extra))
            shutil.rmtree(root, ignore_errors=True)
        return median_run(measured)

    scaling = {"1": cold}
    for factor in factors[1:]:
        data = os.path.join(work, f"data_{factor}x")
        write_rows(os.path.join(data, "complaints.csv"), header, resample(rows, factor))
        log(f"{factor}x rows ({repeats} runs) ...")
        scaling[str(factor)] = runs(data, f"run_{factor}x")
    factor = factors[1]
    log(f"{factor}x rows, Beam multi_processing with 2 workers ({repeats} runs) ...")
    multi_processing = runs(
        os.path.join(work, f"data_{factor}x"),
        f"run_{factor}x_mp",
        [f"--beam-arg={arg}" for arg in MULTI_PROCESSING_ARGS],
    )
    return {
        "scaling": scaling,
        "beam_multi_processing": {"factor": factor, "args": MULTI_PROCESSING_ARGS, **multi_processing},
    }


def _latest_output(output_root: str, component: str, key: str) -> str:
    """Where the latest run's component wrote its output key (ML Metadata, not the newest folder on disk)."""
    from pipeline_tools import metadata

    found = metadata.runs(os.path.join(output_root, "metadata.sqlite"))[-1].output(component, key)
    if found is None:
        raise RuntimeError(f"the latest run in {output_root} has no {component} {key}")
    return found.uri


def trained_steps(output_root: str) -> dict[str, Any]:
    """How long the latest Trainer run trained, and what limited it (module.TRAINING_RECORD)."""
    from pipeline_tools import views

    record = views.training_record(_latest_output(output_root, "Trainer", "model_run"))
    return {key: record[key] for key in ("trained_steps", "limited_by", "train_examples")}


def examples_as_rows(output_root: str, split: str) -> list[dict[str, str]]:
    """The rows CsvExampleGen put in one split of the latest run, as CSV-like dicts (for the baseline)."""
    import tensorflow as tf

    examples = _latest_output(output_root, "CsvExampleGen", "examples")
    rows = []
    files = glob.glob(os.path.join(examples, f"Split-{split}", "*"))
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        row = {}
        for name in columns.ALL:
            kind = features[name].WhichOneof("kind") if name in features else None
            values = getattr(features[name], kind).value if kind else []
            row[name] = (values[0].decode() if isinstance(values[0], bytes) else str(values[0])) if values else ""
        rows.append(row)
    return rows


def measure_quality(work: str, header, rows, steps: int, seeds: list[int], log) -> list[dict[str, Any]]:
    """7: the pipeline's model against the baselines on the same seeded splits, and on the notebook's hash split."""
    quality = []
    for seed in seeds:
        train, evaluate = random_split(rows, seed)
        data = os.path.join(work, f"split_{seed}")
        write_rows(os.path.join(data, "train", "complaints.csv"), header, train)
        write_rows(os.path.join(data, "eval", "complaints.csv"), header, evaluate)
        log(f"quality, split {seed} ...")
        split_root = os.path.join(work, f"run_split_{seed}")
        run_pipeline(data, split_root, steps, ["--presplit", "true", "--min-eval-auc", "0"])
        quality.append(
            {
                "seed": seed,
                "eval_rows": len(evaluate),
                "pipeline": evaluation(split_root),
                "training": trained_steps(split_root),
                **baselines(train, evaluate),
            }
        )
    # The notebook's own split: CsvExampleGen's hash buckets over data_local (the cold run's).
    cold_root = os.path.join(work, "run_1x_0")
    train, evaluate = examples_as_rows(cold_root, "train"), examples_as_rows(cold_root, "eval")
    quality.append(
        {
            "seed": "hash",
            "eval_rows": len(evaluate),
            "pipeline": evaluation(cold_root),
            "training": trained_steps(cold_root),
            **baselines(train, evaluate),
        }
    )
    return quality


def fresh_copy(target: str) -> None:
    """What a reader starts from: `git clone` of this checkout (its last commit), or, outside a git
    checkout (stack B's root file system gets `git archive`), every file but environments and outputs."""
    if os.path.isdir(os.path.join(REPO_ROOT, ".git")):
        subprocess.run(["git", "clone", "--quiet", REPO_ROOT, target], check=True)
        return
    ignore = shutil.ignore_patterns(".venv", "outputs", "__pycache__", ".pytest_cache", "*.egg-info")
    shutil.copytree(REPO_ROOT, target, ignore=ignore, symlinks=True)


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


def measure(work: str, quick: bool, full_suite: bool, repeats: int, log=print) -> dict[str, Any]:
    """Every measurement of the report, in one dict (the .json file)."""
    import tfx

    header, rows = read_rows()
    steps = 50 if quick else PipelineSettings().train_steps
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "tfx": tfx.__version__,
        **environment(),
        "rows": len(rows),
        "train_steps": steps,
        "quick": quick,
        "repeats": repeats,
    }
    results["reader"] = measure_reader(work, repeats, full_suite, log)
    results.update(measure_cache(work, header, rows, steps, repeats, log))
    results["reader"]["cold_s"] = results["cold"]["wall_s"]
    results["reader"]["cached_s"] = results["warm"]["wall_s"]
    results.update(measure_serving_and_limit(work, rows, steps, results["cold"], repeats, quick, log))
    factors = [1, 2] if quick else [1, 4, 16]
    results.update(measure_scaling(work, header, rows, steps, factors, repeats, results["cold"], log))
    results["quality"] = measure_quality(work, header, rows, steps, [0] if quick else [0, 1, 2], log)
    return results


def _mean_sd(values: Sequence[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def cost_per_1000_rows(results: dict[str, Any], base_rows: int) -> dict[str, float]:
    """Seconds each component (and the whole run) adds per extra 1,000 rows, from the smallest to the largest size."""
    sizes = sorted(results["scaling"], key=int)
    small, large = results["scaling"][sizes[0]], results["scaling"][sizes[-1]]
    extra_thousands = (int(sizes[-1]) - int(sizes[0])) * base_rows / 1000
    costs = {
        name: round((large["components"][name]["s"] - small["components"][name]["s"]) / extra_thousands, 3)
        for name in small["components"]
    }
    costs["whole run (wall)"] = round((large["wall_s"] - small["wall_s"]) / extra_thousands, 3)
    return costs


def _walls(run: dict[str, Any]) -> str:
    return ", ".join(f"{wall:.1f}" for wall in run.get("runs_wall_s", [run["wall_s"]]))


def _seconds(value: float | None) -> str:
    if value is None:
        return "not measured"
    return f"{value:.0f} s" if value < 120 else f"{value:.0f} s ({value / 60:.1f} min)"


def reader_table(stacks: Sequence[dict[str, Any]]) -> list[str]:
    """The numbers a reader cares about first, one column per stack, the stack A targets beside them."""
    lines = [
        "| what a reader waits for | target (stack A) | "
        + " | ".join(f"stack {r['stack_name']}" for r in stacks)
        + " |",
        "| --- | --- | " + " | ".join("---:" for _ in stacks) + " |",
    ]
    for key, what, target in READER_ROWS:
        cells = []
        for results in stacks:
            value = results["reader"].get(key)
            met = "" if target is None or value is None else (" (met)" if value <= target else " (**not met**)")
            cells.append(_seconds(value) + met)
        lines.append(f"| {what} | {_seconds(target) if target else ''} | " + " | ".join(cells) + " |")
    stack_lines = [f"Stack {r['stack']}; {r['machine']}; commit {r['commit']}, {r['date']}." for r in stacks]
    return lines + [""] + [line for text in stack_lines for line in (text, "")]


def summary(results_dir: str) -> str:
    """The reader table of every full (not --quick) report in results_dir, stack A first."""
    stacks = []
    for path in sorted(glob.glob(os.path.join(results_dir, "py*-tfx*.json"))):
        with open(path) as handle:
            results = json.load(handle)
        if not results.get("quick") and "reader" in results:
            stacks.append(results)
    stacks.sort(key=lambda results: results["stack_name"])
    return "\n".join(reader_table(stacks)) if stacks else ""


def _reader_section(results: dict[str, Any]) -> list[str]:
    reader = results["reader"]
    lines = ["## 0. What a reader waits for", ""] + reader_table([results])
    lines += [
        f"The notebook's runs: {', '.join(f'{s:.0f}' for s in reader['notebook_runs_s'])} s; the fast tests': "
        f"{', '.join(f'{s:.0f}' for s in reader['fast_tests_runs_s'])} s. "
        "The install and the whole suite are one run each"
        + (
            f" (the suite: {reader['tests_summary']})."
            if "tests_summary" in reader
            else "; the suite was not run (--no-suite)."
        )
    ]
    return lines + [""]


def _cache_section(results: dict[str, Any]) -> list[str]:
    cold, warm, changed = results["cold"], results["warm"], results["changed_hyperparameter"]
    first = results["warm_first"]
    order = list(cold["components"])
    lines = [
        "## 1-3. One run, warm reruns, and a changed hyperparameter",
        "",
        f"Four runs in one output root (one ML Metadata store), in this order, in each of {results['repeats']}",
        "output roots; each column is the run with the median wall time of its kind (every wall time",
        "below the table). Each cell: seconds, and the execution's state (`CACHED`: outputs reused;",
        "`COMPLETE`: ran).",
        "",
        "| component | cold | first rerun, nothing changed | second rerun, nothing changed | train_steps changed |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]

    def cell(run, name):
        value = run["components"].get(name, {})
        return f"{value.get('s', 0):.1f} {value.get('state', '')}"

    def summed(run):
        return sum(value["s"] for value in run["components"].values())

    for name in order:
        lines.append(
            f"| {name} | {cold['components'][name]['s']:.1f} | {cell(first, name)} | {cell(warm, name)} | "
            f"{cell(changed, name)} |"
        )
    runs = (cold, first, warm, changed)
    lines += [
        "| sum of components | " + " | ".join(f"{summed(run):.1f}" for run in runs) + " |",
        "| **process wall time** | " + " | ".join(f"**{run['wall_s']:.1f}**" for run in runs) + " |",
        "| peak memory (MB) | " + " | ".join(f"{run['peak_rss_mb']:.0f}" for run in runs) + " |",
        "| every run's wall time | " + " | ".join(_walls(run) for run in runs) + " |",
        "",
        f"Rerun / cold run: first **{results['warm_first_over_cold']:.1%}**, "
        f"second **{results['warm_over_cold']:.1%}** (target at most 15%). Re-ran after {changed['change']}: "
        + ", ".join(name for name in order if changed["components"].get(name, {}).get("state") == "COMPLETE")
        + ".",
        "",
    ]
    return lines


def _scaling_section(results: dict[str, Any]) -> list[str]:
    rows = results["rows"]
    order = list(results["cold"]["components"])
    lines = [
        "## 4. Scaling",
        "",
        "| rows | " + " | ".join(order) + " | wall (s) | peak MB |",
        "| ---: | " + " | ".join("---:" for _ in order) + " | ---: | ---: |",
    ]
    for factor, run in sorted(results["scaling"].items(), key=lambda item: int(item[0])):
        lines.append(
            f"| {int(factor) * rows:,} | "
            + " | ".join(f"{run['components'][n]['s']:.1f}" for n in order)
            + f" | {run['wall_s']:.1f} | {run['peak_rss_mb']:.0f} |"
        )
    costs = cost_per_1000_rows(results, rows)
    lines += ["", "Seconds added per extra 1,000 rows: " + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()) + "."]
    mp = results["beam_multi_processing"]
    single = results["scaling"][str(mp["factor"])]
    lines += [
        "",
        f"## 5. Beam: in one process against `{' '.join(mp['args'])}` ({mp['factor'] * rows:,} rows)",
        "",
        "| component | in_memory (s) | multi_processing, 2 workers (s) |",
        "| --- | ---: | ---: |",
    ]
    for name in BEAM_COMPONENTS:
        lines.append(f"| {name} | {single['components'][name]['s']:.1f} | {mp['components'][name]['s']:.1f} |")
    return lines + [f"| process wall time | {single['wall_s']:.1f} | {mp['wall_s']:.1f} |", ""]


def _serving_section(results: dict[str, Any]) -> list[str]:
    lines = [
        "## 6. Serving (the pushed SavedModel's `serving_default`, raw tf.Examples in, in process)",
        "",
        "| batch | p50 (ms) | p95 (ms) | examples/s at p50 |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for batch in (1, 256):
        s = results["serving"][f"batch_{batch}"]
        lines.append(f"| {batch} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['examples_per_s']:,.0f} |")
    return lines + [""]


def _quality_section(results: dict[str, Any]) -> list[str]:
    quality = [q for q in results["quality"] if q["seed"] != "hash"]
    lines = [
        "## 7. Quality on the eval split (the same split for every model)",
        "",
        "Three seeded random splits (90% to train, 10% to evaluate), then the notebook's hash split of data_local.",
        "",
        "| split | eval rows | pipeline AUC | trained steps (limit) | pipeline accuracy "
        "| TF-IDF + logistic regression AUC | its accuracy | majority accuracy |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for q in results["quality"]:
        training = q.get("training", {})
        steps = f"{training.get('trained_steps', '')} ({training.get('limited_by', '')})"
        lines.append(
            f"| {q['seed']} | {q['eval_rows']} | {q['pipeline']['auc']:.3f} | {steps} | "
            f"{q['pipeline']['accuracy']:.3f} | "
            f"{q['tfidf_logreg']['auc']:.3f} | {q['tfidf_logreg']['accuracy']:.3f} | {q['majority']['accuracy']:.3f} |"
        )

    def column(model, metric):
        return _mean_sd([q[model][metric] for q in quality])

    lines += [
        f"| **mean ± sd of the seeded splits** | | **{column('pipeline', 'auc')}** | "
        f"| {column('pipeline', 'accuracy')} "
        f"| **{column('tfidf_logreg', 'auc')}** | {column('tfidf_logreg', 'accuracy')} "
        f"| {column('majority', 'accuracy')} |",
        "",
    ]
    limit = results["limit"]
    return lines + [
        "## 8. The limit: the same training without orchestration",
        "",
        f"Plain Keras on the transformed examples (the same model and training plan, at most "
        f"{results['train_steps']} steps): **{limit['plain_keras_s']:.1f} s**, against "
        f"{limit['trainer_component_s']:.1f} s for the Trainer component and {limit['pipeline_wall_s']:.1f} s for the "
        "whole pipeline run.",
        "",
    ]


def report(results: dict[str, Any]) -> str:
    """The report's Markdown: every section, from the measurements."""
    lines = [
        f"# Benchmark: Python {results['python']}, TFX {results['tfx']} (stack {results['stack_name']})",
        "",
        f"- Date: {results['date']}; commit {results['commit']}.",
        f"- Machine: {results['machine']}.",
        f"- Stack {results['stack']}.",
        f"- Data: data_local ({results['rows']:,} rows) and resamples of it; {results['train_steps']} train steps.",
        f"- Times: the median of {results['repeats']} runs unless a line says one run. Produced by `benchmarks/run.py`"
        + (" --quick (smoke run, not the committed numbers)" if results["quick"] else "")
        + f" in {results.get('benchmark_wall_s', 0) / 60:.0f} minutes.",
        "",
    ]
    lines += _reader_section(results) + _cache_section(results) + _scaling_section(results) + _serving_section(results)
    return "\n".join(lines + _quality_section(results))


def plot(results: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    sizes = sorted(results["scaling"], key=int)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name in results["cold"]["components"]:
        axis.plot(
            [int(s) * rows for s in sizes],
            [results["scaling"][s]["components"][name]["s"] for s in sizes],
            marker="o",
            label=name,
        )
    axis.set_xlabel("rows")
    axis.set_ylabel("seconds")
    axis.set_title(f"Time per component (TFX {results['tfx']}, Python {results['python']}, {os.cpu_count()} cores)")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps: checks the harness")
    parser.add_argument("--results-dir", default=os.path.join(REPO_ROOT, "benchmarks", "results"))
    parser.add_argument("--work-dir", default="", help="keep runs here (default: a temporary folder, removed)")
    parser.add_argument("--repeats", type=int, default=0, help=f"runs per time (default {REPEATS}; 1 with --quick)")
    parser.add_argument("--no-suite", action="store_true", help="skip the one run of the whole test suite")
    parser.add_argument(
        "--render", nargs="+", metavar="JSON", help="measure nothing: write the reports again from these .json files"
    )
    args = parser.parse_args(argv)
    if args.render:
        for path in args.render:
            if not path.endswith(".json") or not os.path.isfile(path):
                parser.error(f"--render takes the .json files of earlier runs, got {path!r}")
            print(write_report(os.path.abspath(path)[: -len(".json")]).splitlines()[-1])
        return 0
    repeats = args.repeats or (1 if args.quick else REPEATS)
    if repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    import tfx

    name = f"py{sys.version_info.major}.{sys.version_info.minor}-tfx{tfx.__version__}" + (
        "-quick" if args.quick else ""
    )
    work = args.work_dir or tempfile.mkdtemp(prefix="tfx-benchmark-")
    started = time.perf_counter()
    try:
        results = measure(
            work,
            args.quick,
            full_suite=not (args.quick or args.no_suite),
            repeats=repeats,
            log=lambda message: print(f"[{time.perf_counter() - started:6.0f} s] {message}", flush=True),
        )
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    results["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
    os.makedirs(args.results_dir, exist_ok=True)
    base = os.path.join(args.results_dir, name)
    with open(base + ".json", "w") as handle:
        json.dump(results, handle, indent=1)
    print(write_report(base))
    return 0


def pipeline_order() -> list[str]:
    """The component ids in the order LocalDagRunner runs them (the pipeline's, upstream first)."""
    from pipeline_tools import local_runner

    with tempfile.TemporaryDirectory() as folder:
        _, arguments = local_runner.parse_arguments(["--output-root", folder])
        return [component.id for component in local_runner.build(arguments).components]


def in_pipeline_order(results: dict[str, Any]) -> dict[str, Any]:
    """results with every run's components in pipeline order (a .json file may hold them sorted by name)."""
    order = pipeline_order()

    def ordered(run: dict[str, Any]) -> dict[str, Any]:
        ranked = sorted(run["components"], key=lambda name: order.index(name) if name in order else len(order))
        return {**run, "components": {name: run["components"][name] for name in ranked}}

    results = dict(results)
    for key in ("cold", "warm_first", "warm", "changed_hyperparameter", "beam_multi_processing"):
        results[key] = ordered(results[key])
    results["scaling"] = {factor: ordered(run) for factor, run in results["scaling"].items()}
    return results


def write_report(base: str) -> str:
    """From base.json (the raw numbers): base.md, base.png and the summary.md beside them; returns the report."""
    with open(base + ".json") as handle:
        results = in_pipeline_order(json.load(handle))
    text = report(results) + f"\n![time per component against rows]({os.path.basename(base)}.png)\n"
    with open(base + ".md", "w") as handle:
        handle.write(text)
    plot(results, base + ".png")
    folder = os.path.dirname(base)
    with open(os.path.join(folder, "summary.md"), "w") as handle:
        handle.write(summary(folder) + "\n")
    return text + f"\nwritten: {base}.md, .png and {folder}/summary.md (every stack's reader table)"


if __name__ == "__main__":
    sys.exit(main())
