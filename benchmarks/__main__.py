"""The command line: measure everything and write the report (see the package's docstring)."""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import benchmarks  # noqa: E402
from benchmarks import data, harness, report, suites  # noqa: E402
from benchmarks.suites import cache, quality, reader, scaling, serving  # noqa: E402
from pipeline_tools import quiet  # noqa: E402
from pipeline_tools.settings import PipelineSettings  # noqa: E402

quiet.install(import_tensorflow=False)  # The known start-up noise of TensorFlow and Google Cloud, as in the notebooks.


def measure(work: str, quick: bool, full_suite: bool, repeats: int, log=print) -> dict[str, Any]:
    """Every measurement of the report, as its .json file holds it."""
    import tfx

    header, rows = data.read_rows()
    steps = 50 if quick else PipelineSettings().train_steps
    about = {
        "python": platform.python_version(),
        "tfx": tfx.__version__,
        **harness.environment(),
        "rows": len(rows),
        "train_steps": steps,
        "quick": quick,
        "repeats": repeats,
        "component_order": harness.pipeline_order(),  # The report lists components so, from the .json alone.
    }
    waited = reader.measure_reader(work, repeats, full_suite, log)
    cached = cache.measure_cache(work, header, rows, steps, repeats, log)
    served = serving.measure_serving_and_limit(work, rows, steps, cached.cold, repeats, quick, log)
    factors = [1, 2] if quick else [1, 4, 16]
    scaled = scaling.measure_scaling(work, header, rows, steps, factors, repeats, cached.cold, log)
    judged = quality.measure_quality(work, header, rows, steps, [0] if quick else [0, 1, 2], log)
    return {**about, **suites.results_json(waited, cached, served, scaled, judged)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=benchmarks.__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps: checks the harness")
    parser.add_argument("--results-dir", default=os.path.join(harness.REPO_ROOT, "benchmarks", "results"))
    parser.add_argument("--work-dir", default="", help="keep runs here (default: a temporary folder, removed)")
    parser.add_argument(
        "--repeats", type=int, default=0, help=f"runs per time (default {harness.REPEATS}; 1 with --quick)"
    )
    parser.add_argument("--no-suite", action="store_true", help="skip the one run of the whole test suite")
    parser.add_argument(
        "--render", nargs="+", metavar="JSON", help="measure nothing: write the reports again from these .json files"
    )
    args = parser.parse_args(argv)
    if args.render:
        for path in args.render:
            if not path.endswith(".json") or not os.path.isfile(path):
                parser.error(f"--render takes the .json files of earlier runs, got {path!r}")
            print(report.write_report(os.path.abspath(path)[: -len(".json")]).splitlines()[-1])
        return 0
    repeats = args.repeats or (1 if args.quick else harness.REPEATS)
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
    print(report.write_report(base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
