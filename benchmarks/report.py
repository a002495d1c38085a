"""The report, from the measurements alone (the .json a run writes): Markdown, the reader's table of
every stack, the chart."""

import glob
import json
import os
import statistics
from collections.abc import Sequence
from typing import Any

from pipeline_tools.vertex.blueprint import BEAM_COMPONENTS

# What a reader waits for, and the targets set for stack A: (key, what, target in seconds or None).
READER_ROWS = (
    ("fresh_clone_s", "fresh clone to a pushed model (install with a warm package cache, then the notebook)", None),
    ("install_s", "of which the install (`scripts/setup_env.sh`, a new `.venv`)", None),
    ("notebook_s", "the notebook under papermill (`make tutorial` once `.venv` exists)", 90),
    ("cold_s", "a cold `pipeline_tools.local_runner` run on data_local", 60),
    ("cached_s", "a fully cached rerun (nothing changed, second rerun)", 10),
    ("tests_s", "the test suite, `make test`, once `.venv` exists", 600),
    ("fast_tests_s", 'the fast tests, `make test-fast` (`-m "not slow"`)', 120),
)


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
        f"- Times: the median of {results['repeats']} runs unless a line says one run. "
        "Produced by `python -m benchmarks`"
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


def in_pipeline_order(results: dict[str, Any]) -> dict[str, Any]:
    """results with every run's components in the pipeline's order, which the benchmark recorded with its
    measurements (`component_order`, upstream first): a .json may hold them sorted by name."""
    order = results["component_order"]

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
