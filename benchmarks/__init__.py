"""Measures the pipeline on this machine and writes a report: what a reader waits for, cost, cache,
scaling, serving, quality.

    .venv/bin/python -m benchmarks             # about 35 minutes on 2 cores (stack A; make benchmark)
    .venv/bin/python -m benchmarks --quick     # a smoke run of every measurement (one run each, small)
    .venv/bin/python -m benchmarks --render benchmarks/results/*.json   # the reports again, from their .json
    bash scripts/benchmark_stack_b.sh              # the same on stack B (tfx 1.21, Python 3.13)

Writes benchmarks/results/<python>-tfx<version>.md (the report), .json (every raw number) and
.png (time per component against row count), then the summary table of every stack's .json
(`summary.md`, the table at the top of benchmarks/README.md). Every pipeline run is `python -m
pipeline_tools.local_runner` in a child process, so its wall time includes what a user waits for
(imports, Beam start-up) and its peak memory is the child's own. Per-component times come from
ML Metadata, which records when each execution was registered and when it was last updated.
Every time is the median of --repeats runs (3), except where the report says one run.

One module per job: `data` (what is measured on), `harness` (how: child processes, timers, medians,
ML Metadata), `suites/` (one module per measurement, each returning dataclasses whose `as_json()` is
its part of the .json), `report` (Markdown and chart from the .json alone), `__main__` (the command
line).
"""
