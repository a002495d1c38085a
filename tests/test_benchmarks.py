"""The benchmark's own logic: the data it makes, the splits it compares on, and the arithmetic of its report.

The measurements themselves are not tested here (benchmarks print numbers; they are not timed
tests): `python -m benchmarks --quick` exercises them end to end.
"""

import json

import pytest

from benchmarks import data, harness, report, suites
from benchmarks.suites import cache, quality, reader, scaling, serving
from conftest import REPO_ROOT


@pytest.fixture(scope="module")
def rows():
    _, rows = data.read_rows()
    return rows[:200]


def test_resample_keeps_the_originals_and_perturbs_every_copy(rows):
    bigger = data.resample(rows, 4, seed=1)
    assert len(bigger) == 4 * len(rows)
    assert bigger[: len(rows)] == rows
    originals = {row["consumer_complaint_narrative"] for row in rows}
    copies = [row for row in bigger[len(rows) :] if len(row["consumer_complaint_narrative"].split()) > 3]
    assert copies and not any(row["consumer_complaint_narrative"] in originals for row in copies)
    assert all(set(row) == set(rows[0]) for row in bigger)
    assert data.resample(rows, 4, seed=1) == bigger  # Same seed, same data.


def test_random_split_is_disjoint_complete_and_seeded(rows):
    train, evaluate = data.random_split(rows, seed=3)
    assert len(evaluate) == len(rows) // 10 and len(train) + len(evaluate) == len(rows)
    key = lambda row: tuple(sorted(row.items()))  # noqa: E731
    assert sorted(map(key, train + evaluate)) == sorted(map(key, rows))
    assert data.random_split(rows, seed=3) == (train, evaluate)
    assert data.random_split(rows, seed=4)[1] != evaluate


def test_baselines_score_the_given_eval_rows(rows):
    train, evaluate = data.random_split(rows, seed=0, eval_fraction=0.3)
    scores = quality.baselines(train, evaluate)
    disputed = sum(int(row["consumer_disputed"]) for row in evaluate) / len(evaluate)
    assert scores["majority"]["accuracy"] == pytest.approx(1 - disputed)
    assert 0.0 <= scores["tfidf_logreg"]["auc"] <= 1.0


def _run(seconds, wall):
    return {
        "wall_s": wall,
        "peak_rss_mb": 1000.0,
        "components": {name: {"s": s, "state": "COMPLETE"} for name, s in seconds.items()},
    }


def test_cost_per_extra_thousand_rows():
    results = {
        "scaling": {
            "1": _run({"Transform": 10.0, "Trainer": 20.0}, 40.0),
            "16": _run({"Transform": 40.0, "Trainer": 20.0}, 70.0),
        }
    }
    costs = report.cost_per_1000_rows(results, base_rows=2000)  # 30,000 extra rows.
    assert costs == {"Transform": 1.0, "Trainer": 0.0, "whole run (wall)": 1.0}


def _hand_made_results():
    """A report's .json as the benchmark writes it, written out by hand."""
    components = {name: 1.0 for name in ["CsvExampleGen", "StatisticsGen", "Transform", "Trainer", "Evaluator"]}
    cold = _run(components, 100.0)
    warm = {**_run({name: 0.1 for name in components}, 10.0)}
    for value in warm["components"].values():
        value["state"] = "CACHED"
    quality = {
        "seed": 0,
        "eval_rows": 310,
        "pipeline": {"auc": 0.65, "accuracy": 0.78, "examples": 310},
        "tfidf_logreg": {"auc": 0.62, "accuracy": 0.77},
        "majority": {"auc": 0.5, "accuracy": 0.78},
    }
    results = {
        "python": "3.10.13",
        "tfx": "1.16.0",
        "date": "2026-11-27 10:00 UTC",
        "commit": "abc1234",
        "machine": "2 cores (a CPU), 23.5 GiB",
        "stack": "A: Python 3.10.13, tfx 1.16.0",
        "stack_name": "A",
        "repeats": 3,
        "reader": {
            "install_s": 100.0,
            "notebook_s": 95.0,
            "notebook_runs_s": [97.0, 95.0, 93.0],
            "fresh_clone_s": 197.0,
            "cold_s": 45.0,
            "cached_s": 5.5,
            "fast_tests_s": 80.0,
            "fast_tests_runs_s": [80.0, 81.0, 79.0],
            "tests_s": 660.0,
            "tests_summary": "280 passed in 660.00s",
        },
        "rows": 3101,
        "train_steps": 500,
        "quick": False,
        "cold": cold,
        "warm_first": cold,
        "warm": warm,
        "warm_over_cold": 0.1,
        "warm_first_over_cold": 1.0,
        "changed_hyperparameter": {"change": "train_steps 500 -> 600", **_run(components, 50.0)},
        "scaling": {"1": cold, "4": _run(components, 150.0)},
        "beam_multi_processing": {"factor": 4, "args": scaling.MULTI_PROCESSING_ARGS, **_run(components, 140.0)},
        "serving": {
            "batch_1": {"p50_ms": 3.0, "p95_ms": 4.0, "examples_per_s": 333.3, "calls": 10},
            "batch_256": {"p50_ms": 30.0, "p95_ms": 40.0, "examples_per_s": 8533.3, "calls": 10},
        },
        "quality": [quality, dict(quality, seed=1, pipeline={"auc": 0.61, "accuracy": 0.77, "examples": 310})],
        "limit": {"plain_keras_s": 12.0, "trainer_component_s": 18.0, "pipeline_wall_s": 100.0},
    }
    return results


REPORT_SAYS = (
    "first **100.0%**, second **10.0%**",
    "| 12,404 |",
    "0.630 ± 0.028",
    "| 1 | 3.00 | 4.00 | 333 |",
    "multi_processing",
    "**12.0 s**",
    "Re-ran after train_steps 500 -> 600: CsvExampleGen",
    "commit abc1234",
    "| the notebook under papermill (`make tutorial` once `.venv` exists) | 90 s | 95 s (**not met**) |",
    "| a fully cached rerun (nothing changed, second rerun) | 10 s | 6 s (met) |",
    "| the test suite, `make test`, once `.venv` exists | 600 s (10.0 min) | 660 s (11.0 min) (**not met**) |",
    "The notebook's runs: 97, 95, 93 s",
)


def test_report_holds_every_section():
    text = report.report(_hand_made_results())
    for expected in REPORT_SAYS:
        assert expected in text, expected


def test_the_suites_typed_results_are_the_json_the_report_reads():
    """What the suites return (dataclasses), through suites.results_json, holds every number of the
    hand-made .json where the report reads it, and so renders the same report."""
    hand = _hand_made_results()

    def run(found):
        return harness.Run(found["wall_s"], found["peak_rss_mb"], found["components"])

    limit, reading = hand["limit"], dict(hand["reader"])
    waited = reader.ReaderResults(
        reading["install_s"], reading["notebook_runs_s"], reading["fast_tests_runs_s"], reading["tests_s"],
        reading["tests_summary"],
    )  # fmt: skip
    cached = cache.CacheResults(
        run(hand["cold"]), run(hand["warm_first"]), run(hand["warm"]), run(hand["changed_hyperparameter"]),
        hand["changed_hyperparameter"]["change"],
    )  # fmt: skip
    latency = {int(key[len("batch_") :]): serving.Latency(**value) for key, value in hand["serving"].items()}
    served = serving.ServingResults(
        latency, [limit["plain_keras_s"]], limit["trainer_component_s"], limit["pipeline_wall_s"]
    )
    multi = hand["beam_multi_processing"]
    scaled = scaling.ScalingResults({int(k): run(v) for k, v in hand["scaling"].items()}, multi["factor"], run(multi))
    judged = [
        quality.Quality(
            split["seed"],
            split["eval_rows"],
            split["pipeline"],
            {},
            {"tfidf_logreg": split["tfidf_logreg"], "majority": split["majority"]},
        )
        for split in hand["quality"]
    ]
    made = json.loads(json.dumps(suites.results_json(waited, cached, served, scaled, judged)))

    def holds(found, expected, where):
        if isinstance(expected, dict):
            for key, value in expected.items():
                assert key in found, f"{where}.{key}"
                holds(found[key], value, f"{where}.{key}")
        elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
            assert len(found) == len(expected), where
            for index, (one, other) in enumerate(zip(found, expected, strict=True)):
                holds(one, other, f"{where}[{index}]")
        else:
            assert found == expected, where

    # The reader's cold and cached times are the cache suite's runs (the hand-made .json has others).
    assert (made["reader"]["cold_s"], made["reader"]["cached_s"]) == (hand["cold"]["wall_s"], hand["warm"]["wall_s"])
    made["reader"].update(cold_s=hand["reader"]["cold_s"], cached_s=hand["reader"]["cached_s"])
    holds(made, {key: hand[key] for key in made}, "results")
    text = report.report({**{key: value for key, value in hand.items() if key not in made}, **made})
    for expected in REPORT_SAYS:
        assert expected in text, expected


def test_the_median_run_is_the_middle_one_with_every_wall_time():
    runs = [harness.Run(**_run({"Transform": s}, wall)) for s, wall in ((1.0, 50.0), (2.0, 40.0), (3.0, 60.0))]
    middle = harness.median_run(runs)
    assert middle.wall_s == 50.0 and middle.components["Transform"]["s"] == 1.0
    assert middle.as_json()["runs_wall_s"] == [50.0, 40.0, 60.0]


RESULTS = REPO_ROOT / "benchmarks" / "results"


@pytest.mark.reports
def test_both_stacks_reports_come_from_one_commit_and_say_where_they_ran():
    made = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("py*-tfx*.json"))]
    full = [found for found in made if not found.get("quick")]
    assert {found["stack_name"] for found in full} == {"A", "B"}
    assert len({found["commit"] for found in full}) == 1, [found["commit"] for found in full]
    for found in full:
        assert found["repeats"] >= 3
        for key in ("date", "machine", "stack"):
            assert found[key], key
        for key, _, _ in report.READER_ROWS:
            assert found["reader"][key] > 0, (found["stack_name"], key)


@pytest.mark.reports
@pytest.mark.parametrize("readme", ["benchmarks/README.md", "README.md"])
def test_the_readme_tables_are_the_committed_reports(readme):
    """The reader table in both READMEs is what the committed .json files say (summary.md too)."""
    table = report.summary(str(RESULTS))
    assert table and table in (REPO_ROOT / readme).read_text(), f"{readme}: paste benchmarks/results/summary.md"
    assert (RESULTS / "summary.md").read_text().strip() == table.strip()


def test_a_report_written_again_from_its_json_lists_components_in_pipeline_order(tmp_path):
    """`python -m benchmarks --render` rewrites a report from its raw numbers alone, in the order the run
    recorded (`component_order`); a .json may hold the components sorted by name."""
    names = ["Trainer", "Pusher", "CsvExampleGen", "Transform", "Evaluator", "StatisticsGen"]
    run = _run({name: 1.0 for name in sorted(names)}, 10.0)
    expected = ["CsvExampleGen", "StatisticsGen", "Transform", "Trainer", "Evaluator", "Pusher"]
    results = {"cold": run, "warm_first": run, "warm": run, "changed_hyperparameter": run}
    results.update(beam_multi_processing=run, scaling={"1": run, "4": run}, component_order=expected)
    ordered = report.in_pipeline_order(results)
    assert list(ordered["cold"]["components"]) == expected
    assert list(ordered["scaling"]["4"]["components"]) == expected
    assert ordered["cold"]["wall_s"] == 10.0 and list(run["components"]) == sorted(names)  # A copy.
