"""What the pipeline survives and refuses, on one output root and five LocalDagRunner runs:

1. killed (SIGKILL) while the Trainer trains (case 10), learning from 2015-03 to 2015-11;
2. the same command again: everything upstream of the Trainer comes from the cache, the run
   completes, and nothing the killed Trainer half-wrote is used; its model is blessed and pushed;
3. a model trained for one step: not blessed, not pushed, the serving folder keeps the good one
   (case 9);
4. `--next-span`: December arrives; the gate compares it with the data the served model learned
   from and prints the distances, the Evaluator compares the new model with the served one;
5. every complaint about payday loans, checked with `--validate-only`: stopped, against the data
   the served model learned from.
The pushed model then answers raw examples with categories it never saw and a 100,000-character
narrative (cases 6 and 7 at serving time), and the lineage read from ML Metadata lists each model.
"""

import csv
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import base_pipeline
from conftest import REPO_ROOT, staged_data_local
from pipeline_tools import lineage, local_runner, metadata, outcome, schema, serving

DATA_ROOT = str(REPO_ROOT / "data_local")
# Everything the Trainer waits for, as base_pipeline builds it (the order is test_pipeline's).
_COMPONENTS = base_pipeline.create_components(
    *staged_data_local(tempfile.mkdtemp(prefix="staged-")), str(REPO_ROOT / "module.py"), "/tmp/unused"
)
UPSTREAM_OF_TRAINER = [component.id for component in _COMPONENTS.validation_stage() + [_COMPONENTS.transform]]


def _blessings(output_root):
    """BLESSED / NOT_BLESSED of each model gate run, oldest first."""
    folders = glob.glob(os.path.join(output_root, "pipeline_root", "ModelGate", "blessing", "*"))
    ordered = sorted(folders, key=lambda path: int(os.path.basename(path)))
    return [sorted(name for name in os.listdir(folder) if name != "verdict.json") for folder in ordered]


def _runs(output_root):
    """Per pipeline run, oldest first: {component: [state of each execution]}, and the runs themselves."""
    runs = metadata.runs(os.path.join(output_root, "metadata.sqlite"))
    states = [{} for _ in runs]
    for run, by_component in zip(runs, states, strict=True):
        for execution in run.executions:
            by_component.setdefault(execution.component, []).append(execution.state)
    return states, runs


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    output_root = str(folder / "run")
    common = ["--data-root", DATA_ROOT, "--output-root", output_root, "--eval-steps", "5", "--min-eval-auc", "0.5"]
    good = [*common, "--spans", "201503-201511", "--train-steps", "300"]

    with open(folder / "killed.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline_tools.local_runner", *good],
            cwd=str(REPO_ROOT),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # The Trainer writes TensorBoard logs into model_run as soon as it trains.
        deadline = time.time() + 900
        while not glob.glob(os.path.join(output_root, "pipeline_root", "Trainer", "model_run", "*", "*")):
            assert process.poll() is None, (folder / "killed.log").read_text()[-3000:]
            assert time.time() < deadline, "the Trainer did not start within 15 minutes"
            time.sleep(0.5)
        time.sleep(2)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    killed_models = set(glob.glob(os.path.join(output_root, "pipeline_root", "Trainer", "model", "*")))

    assert local_runner.main(good) == 0
    pushed_first = sorted(os.listdir(os.path.join(output_root, "serving_model")))
    # The worse model is an outcome, and with --fail-if-not-blessed a failing exit status for CI.
    assert local_runner.main([*common, "--spans", "201503-201511", "--train-steps", "1", "--fail-if-not-blessed"]) == 2
    return output_root, killed_models, pushed_first


@pytest.fixture(scope="module")
def later_runs(three_runs, tmp_path_factory):
    """Runs 4 and 5 on the same output root: (next span's status and output, payday's status and output)."""
    output_root = three_runs[0]
    common = ["--output-root", output_root, "--eval-steps", "5", "--min-eval-auc", "0.5", "--train-steps", "300"]
    next_span = _captured(local_runner.main, ["--data-root", DATA_ROOT, *common, "--next-span"])
    payday = tmp_path_factory.mktemp("payday")
    rows = [dict(row, product="Payday loan", sub_product="") for row in serving.read_rows(DATA_ROOT, 300)]
    with open(payday / "complaints.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    stopped = _captured(local_runner.main, ["--data-root", str(payday), *common, "--validate-only"])
    return next_span, stopped


def _captured(function, argv):
    """(exit status, what it printed to stdout and stderr) of a runner's main."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = function(argv)
    return status, out.getvalue() + err.getvalue()


def test_the_killed_run_stopped_in_the_trainer(three_runs):
    output_root, _, _ = three_runs
    killed = _runs(output_root)[0][0]
    assert killed["Trainer"] == ["RUNNING"]  # Never finished.
    for name in UPSTREAM_OF_TRAINER:
        assert killed[name] == ["COMPLETE"], name
    assert "Evaluator" not in killed and "Pusher" not in killed


def test_the_rerun_takes_upstream_from_the_cache_and_trains_again(three_runs):
    output_root, killed_models, _ = three_runs
    states, runs = _runs(output_root)
    rerun = states[1]
    for name in UPSTREAM_OF_TRAINER:
        # A resolver is an ML Metadata query: it runs every time, nothing to cache.
        expected = "COMPLETE" if name == _COMPONENTS.model_resolver.id else "CACHED"
        assert rerun[name] == [expected], name
    assert rerun["Trainer"] == ["COMPLETE"]
    [evaluated_model] = runs[1].execution("Evaluator").inputs["model"]  # What the Evaluator judged.
    evaluated = evaluated_model.uri
    assert evaluated not in killed_models  # Not the half-written model of the killed run.
    assert os.path.isfile(os.path.join(evaluated, "Format-Serving", "saved_model.pb"))


def test_the_worse_model_is_not_blessed(three_runs):
    output_root, _, _ = three_runs
    assert _blessings(output_root) == [["BLESSED"], ["NOT_BLESSED"]]
    last = metadata.runs(os.path.join(output_root, "metadata.sqlite"))[-1]
    text = str(outcome.Outcome.of_run(last, os.path.join(output_root, "serving_model")))
    assert text.startswith("NOT blessed: AUC ") and "the served model scores AUC " in text
    # One training step: no better than chance, or worse than the served model beyond the noise.
    assert "below 0.5: chance" in text or "worse than the served model beyond the noise" in text
    assert "not pushed: " in text and "keeps serving version" in text


def test_the_serving_folder_still_holds_only_the_good_model(three_runs):
    output_root, _, pushed_first = three_runs
    assert len(pushed_first) == 1
    assert sorted(os.listdir(os.path.join(output_root, "serving_model"))) == pushed_first
    assert os.path.isfile(os.path.join(output_root, "serving_model", pushed_first[0], "saved_model.pb"))


def test_the_pushed_model_scores_unseen_categories_and_a_huge_narrative(three_runs):
    output_root, _, pushed_first = three_runs
    signature = serving.load_signature(os.path.join(output_root, "serving_model", pushed_first[0]))
    unseen = {
        "product": "Cryptocurrency wallet",
        "sub_product": "Hardware wallet",
        "issue": "A brand-new issue",
        "sub_issue": "",
        "consumer_complaint_narrative": "My wallet froze.",
        "company": "NEW BANK OF NOWHERE",
        "state": "ZZ",
        "zip_code": "999XX",
        "company_response": "In progress",
        "timely_response": "Yes",
    }
    huge = dict(unseen, product="Mortgage", consumer_complaint_narrative=("word " * 20000)[:100000])
    empty = {name: "" for name in unseen}  # Every field blank: all go to the missing/OOV buckets.
    values = serving.predict(signature, [unseen, huge, empty], schema.read_curated())
    assert values.shape == (3,)
    assert all(0.0 < value < 1.0 for value in values)


def test_the_next_span_is_checked_against_the_served_models_data_and_judged_against_it(three_runs, later_runs):
    output_root = three_runs[0]
    (status, text), _ = later_runs
    assert status == 0, text[-3000:]
    assert "spans 201503-201512 of " in text  # --next-span: every month up to the one after the last run's.
    assert "drift against the data the served model learned from:" in text
    assert "  product: L-infinity " in text and "(at most 0.25)" in text
    assert "the served model scores AUC " in text and re.search(r"change [+-]0\.\d+ \(95% interval [+-]0\.\d+ to", text)
    models = lineage.models(os.path.join(output_root, "metadata.sqlite"))
    served, worse, newest = models[:3]
    assert served.months == worse.months == tuple(range(201503, 201512))
    assert newest.months == tuple(range(201503, 201513)) and newest.gate == "passed"
    assert served.verdict.blessed and served.pushed_version and not worse.verdict.blessed and not worse.pushed_version
    assert newest.verdict.baseline_auc is not None
    pushed = sorted(os.listdir(os.path.join(output_root, "serving_model")))
    assert pushed == sorted(v for v in (served.pushed_version, newest.pushed_version) if v)


def test_a_shifted_population_after_a_first_run_is_stopped_against_the_served_models_data(three_runs, later_runs):
    output_root = three_runs[0]
    _, (status, text) = later_runs
    assert status == 1
    [line] = [line for line in text.splitlines() if "against the data the served model learned from, feature" in line]
    assert "feature 'product'" in line and "above the threshold 0.25" in line and "Payday loan" in line
    stopped = lineage.models(os.path.join(output_root, "metadata.sqlite"))[-1]
    assert stopped.gate == "stopped the run" and stopped.model_uri is None
    # Its row holds the 300 complaints it refused, split two to one by hash (which rows: the TFX version's hash).
    assert stopped.rows["train"] + stopped.rows["eval"] == 300 and stopped.rows["train"] > stopped.rows["eval"]
    table = lineage.table(os.path.join(output_root, "metadata.sqlite"))
    assert list(table["gate"]) == ["passed", "passed", "passed", "stopped the run"]
    assert list(table["blessed"])[:2] == ["yes", "no"] and table["model"].iloc[-1] == "none: the gate stopped the run"
