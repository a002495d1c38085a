"""What the pipeline survives and refuses, on one output root and three LocalDagRunner runs:

1. killed (SIGKILL) while the Trainer trains (case 10);
2. the same command again: everything upstream of the Trainer comes from the cache, the run
   completes, and nothing the killed Trainer half-wrote is used; its model is blessed and pushed;
3. a model trained for one step: not blessed, not pushed, the serving folder keeps the good one
   (case 9).
The pushed model then answers raw examples with categories it never saw and a 100,000-character
narrative (cases 6 and 7 at serving time).
"""

import glob
import os
import signal
import subprocess
import sys
import time

import pytest

import base_pipeline
from conftest import REPO_ROOT
from pipeline_tools import local_runner, metadata, outcome, schema, serving
from pipeline_tools.settings import PipelineSettings

DATA_ROOT = str(REPO_ROOT / "data_local")
# Everything the Trainer waits for, as base_pipeline builds it (the order is test_pipeline's).
_COMPONENTS = base_pipeline.create_components(
    PipelineSettings(), DATA_ROOT, str(REPO_ROOT / "module.py"), "/tmp/unused"
)
UPSTREAM_OF_TRAINER = [component.id for component in _COMPONENTS.validation_stage() + [_COMPONENTS.transform]]


def _blessings(output_root):
    """BLESSED / NOT_BLESSED of each Evaluator run, oldest first."""
    folders = glob.glob(os.path.join(output_root, "pipeline_root", "Evaluator", "blessing", "*"))
    return [sorted(os.listdir(folder)) for folder in sorted(folders, key=lambda path: int(os.path.basename(path)))]


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
    good = [*common, "--train-steps", "300"]

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
    assert local_runner.main([*common, "--train-steps", "1", "--fail-if-not-blessed"]) == 2
    return output_root, killed_models, pushed_first


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
        assert rerun[name] == ["CACHED"], name
    assert rerun["Trainer"] == ["COMPLETE"]
    [evaluated_model] = runs[1].execution("Evaluator").inputs["model"]  # What the Evaluator judged.
    evaluated = evaluated_model.uri
    assert evaluated not in killed_models  # Not the half-written model of the killed run.
    assert os.path.isfile(os.path.join(evaluated, "Format-Serving", "saved_model.pb"))


def test_the_worse_model_is_not_blessed(three_runs):
    output_root, _, _ = three_runs
    assert _blessings(output_root) == [["BLESSED"], ["NOT_BLESSED"]]
    last = metadata.runs(os.path.join(output_root, "metadata.sqlite"))[-1]
    text = outcome.Outcome.of_run(last, os.path.join(output_root, "serving_model")).describe()
    assert text.startswith("NOT blessed: AUC ") and "against the last blessed model" in text
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
