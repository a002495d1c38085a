"""The benchmark's suites, one module each: each measure_* returns its typed results (dataclasses), and
`results_json` turns them into what the report's .json file holds and report.py reads."""

from collections.abc import Sequence
from typing import Any

from benchmarks.suites import cache, quality, reader, scaling, serving


def results_json(
    waited: reader.ReaderResults,
    cached: cache.CacheResults,
    served: serving.ServingResults,
    scaled: scaling.ScalingResults,
    judged: Sequence[quality.Quality],
) -> dict[str, Any]:
    """The suites' typed results as the report's .json holds them (what report.py reads)."""
    return {
        "reader": waited.as_json(cold_s=cached.cold.wall_s, cached_s=cached.warm.wall_s),
        **cached.as_json(),
        **served.as_json(),
        **scaled.as_json(),
        "quality": [split.as_json() for split in judged],
    }
