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
from pipeline_tools import local_runner, schema, serving
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


def _store(output_root):
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = os.path.join(output_root, "metadata.sqlite")
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config), metadata_store_pb2


def _runs(output_root):
    """Per pipeline run, oldest first: {component: [(execution, state name)]}."""
    store, pb2 = _store(output_root)
    node_of = {}
    for node in store.get_contexts_by_type("node"):
        for execution in store.get_executions_by_context(node.id):
            node_of[execution.id] = node.name.split(".", 1)[-1]
    runs = []
    for run in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda context: context.create_time_since_epoch):
        states = {}
        for execution in store.get_executions_by_context(run.id):
            states.setdefault(node_of[execution.id], []).append(
                (execution, pb2.Execution.State.Name(execution.last_known_state))
            )
        runs.append(states)
    return runs


def _evaluated_model_uri(output_root, evaluator_execution):
    """The model artifact the Evaluator execution read as its candidate."""
    store, pb2 = _store(output_root)
    for event in store.get_events_by_execution_ids([evaluator_execution.id]):
        if event.type == pb2.Event.INPUT and event.path.steps[0].key == "model":
            [artifact] = store.get_artifacts_by_id([event.artifact_id])
            return artifact.uri
    raise AssertionError("the Evaluator read no model")


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
    assert local_runner.main([*common, "--train-steps", "1"]) == 0
    return output_root, killed_models, pushed_first


def test_the_killed_run_stopped_in_the_trainer(three_runs):
    output_root, _, _ = three_runs
    killed = _runs(output_root)[0]
    assert [state for _, state in killed["Trainer"]] == ["RUNNING"]  # Never finished.
    for name in UPSTREAM_OF_TRAINER:
        assert [state for _, state in killed[name]] == ["COMPLETE"], name
    assert "Evaluator" not in killed and "Pusher" not in killed


def test_the_rerun_takes_upstream_from_the_cache_and_trains_again(three_runs):
    output_root, killed_models, _ = three_runs
    rerun = _runs(output_root)[1]
    for name in UPSTREAM_OF_TRAINER:
        assert [state for _, state in rerun[name]] == ["CACHED"], name
    [(trainer, state)] = rerun["Trainer"]
    assert state == "COMPLETE"
    [(evaluator, _)] = rerun["Evaluator"]
    evaluated = _evaluated_model_uri(output_root, evaluator)
    assert evaluated not in killed_models  # Not the half-written model of the killed run.
    assert os.path.isfile(os.path.join(evaluated, "Format-Serving", "saved_model.pb"))


def test_the_worse_model_is_not_blessed(three_runs):
    output_root, _, _ = three_runs
    assert _blessings(output_root) == [["BLESSED"], ["NOT_BLESSED"]]


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
