"""Suite 1-3: one cold run, two reruns with nothing changed, and one with a changed hyperparameter."""

import dataclasses
import os
from typing import Any

from benchmarks.data import write_rows
from benchmarks.harness import Run, median_run, run_pipeline


@dataclasses.dataclass(frozen=True)
class CacheResults:
    """The median of each kind of run: cold, a first rerun, a fully cached rerun, a changed hyperparameter."""

    cold: Run
    warm_first: Run
    warm: Run
    changed_hyperparameter: Run
    change: str  # What changed before changed_hyperparameter ran, e.g. "train_steps 300 -> 400".

    def as_json(self) -> dict[str, Any]:
        """As the report's .json holds it: each run at the top level, the change inside its run, and the
        reruns' wall times over the cold run's."""
        return {
            "cold": self.cold.as_json(),
            "warm_first": self.warm_first.as_json(),
            "warm": self.warm.as_json(),
            "changed_hyperparameter": {**self.changed_hyperparameter.as_json(), "change": self.change},
            "warm_over_cold": round(self.warm.wall_s / self.cold.wall_s, 3),
            "warm_first_over_cold": round(self.warm_first.wall_s / self.cold.wall_s, 3),
        }


def measure_cache(
    work: str, header: list[str], rows: list[dict[str, str]], steps: int, repeats: int, log
) -> CacheResults:
    """1-3, in `repeats` output roots: cold, a first rerun, a fully cached rerun, a changed hyperparameter.

    Each kind is the median of its runs over the roots (one ML Metadata store per root).
    """
    data_1x = os.path.join(work, "data_1x")
    write_rows(os.path.join(data_1x, "complaints.csv"), header, rows)
    runs: dict[str, list[Run]] = {"cold": [], "warm_first": [], "warm": [], "changed_hyperparameter": []}
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
    medians = {key: median_run(value) for key, value in runs.items()}
    return CacheResults(**medians, change=f"train_steps {steps} -> {steps + 100}")
