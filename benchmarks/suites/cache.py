"""Suite 1-3: one cold run, two reruns with nothing changed, and one with a changed hyperparameter."""

import os
from typing import Any

from benchmarks.data import write_rows
from benchmarks.harness import median_run, run_pipeline


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
