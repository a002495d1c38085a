"""Suites 4-5: the pipeline on resamples of the data, and Beam in one process against two."""

import dataclasses
import os
import shutil
from collections.abc import Sequence
from typing import Any

from benchmarks.data import resample, write_rows
from benchmarks.harness import Run, median_run, run_pipeline

MULTI_PROCESSING_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


@dataclasses.dataclass(frozen=True)
class ScalingResults:
    """The median run at each size (1: the cold run), and at `factor` with Beam in two processes."""

    by_factor: dict[int, Run]
    factor: int
    multi_processing: Run

    def as_json(self) -> dict[str, Any]:
        """As the report's .json holds it (sizes as string keys)."""
        return {
            "scaling": {str(factor): run.as_json() for factor, run in self.by_factor.items()},
            "beam_multi_processing": {
                "factor": self.factor,
                "args": MULTI_PROCESSING_ARGS,
                **self.multi_processing.as_json(),
            },
        }


def measure_scaling(
    work: str, header, rows, steps: int, factors: list[int], repeats: int, cold: Run, log
) -> ScalingResults:
    """4-5: the pipeline on resamples of the data, and Beam in one process against two (at the second size)."""

    def runs(data: str, name: str, extra: Sequence[str] = ()) -> Run:
        measured = []
        for repeat in range(repeats):
            root = os.path.join(work, f"{name}_{repeat}")
            measured.append(run_pipeline(data, root, steps, extra))
            shutil.rmtree(root, ignore_errors=True)
        return median_run(measured)

    by_factor = {1: cold}
    for factor in factors[1:]:
        data = os.path.join(work, f"data_{factor}x")
        write_rows(os.path.join(data, "complaints.csv"), header, resample(rows, factor))
        log(f"{factor}x rows ({repeats} runs) ...")
        by_factor[factor] = runs(data, f"run_{factor}x")
    factor = factors[1]
    log(f"{factor}x rows, Beam multi_processing with 2 workers ({repeats} runs) ...")
    multi_processing = runs(
        os.path.join(work, f"data_{factor}x"),
        f"run_{factor}x_mp",
        [f"--beam-arg={arg}" for arg in MULTI_PROCESSING_ARGS],
    )
    return ScalingResults(by_factor, factor, multi_processing)
