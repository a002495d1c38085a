"""The Vertex AI blueprint, executed: every task of the compiled JSON run as its container would run it.

tests/vertex_stand_in.py plays Vertex AI's launcher (executor input, placeholders, the ExampleGen
driver, resolver queries, output metadata read back into the next tasks). The blueprint is the
plain variant compiled by the same runner a real run uses, with local folders where a real run
has gs:// ones. Then the endpoint's prediction container serves the pushed model the way Vertex
AI calls it.
"""

import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import vertex_stand_in

import base_pipeline
from conftest import REPO_ROOT
from pipeline_tools import columns, outcome, serving
from pipeline_tools.schema import read_curated
from pipeline_tools.settings import CURATED_SCHEMA_FILE, MODULE_FILE, PipelineSettings
from pipeline_tools.vertex import endpoint, runner, staging
from pipeline_tools.vertex.settings import VertexSettings

SERVER = REPO_ROOT / "pipeline_tools" / "vertex" / "containers" / "serving" / "prediction_server.py"
AFTER_THE_GATE = ("Transform", "Trainer", "Evaluator", "Pusher")


def _write_rows(path, count, drop=None):
    rows = serving.read_rows(str(REPO_ROOT / "data_local"), count)
    fields = [name for name in rows[0] if name != drop]
    rows = [{name: row[name] for name in fields} for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _execute(folder, stand_in, run):
    """Compiles the plain variant with local paths and executes it with the stand-in."""
    settings = VertexSettings(pipeline=PipelineSettings(train_steps=60, eval_steps=3, min_eval_auc=0.0))
    inputs = staging.GcsInputs(str(folder / "data"), MODULE_FILE, CURATED_SCHEMA_FILE, uploads=[])
    where = runner.Destinations(str(folder / "pipeline_root"), str(folder / "serving_model"))
    blueprint = runner.compile_pipeline(settings, inputs, str(folder / "blueprint.json"), where)
    return blueprint, stand_in.run(blueprint, run)


@pytest.fixture(scope="module")
def plain_run(scheduled_runs):
    """(folder, blueprint, result) of the first run of the blueprint (below), with the data it read in folder/data."""
    folder, blueprint, first, _ = scheduled_runs
    return folder, blueprint, first


def test_every_task_runs_in_dependency_order_and_succeeds(plain_run):
    _, blueprint, result = plain_run
    failed = {name: task.log[-3000:] for name, task in result.tasks.items() if task.state != "SUCCEEDED"}
    assert not failed
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    assert list(result.tasks) != sorted(tasks) and set(result.tasks) == set(tasks)
    order = list(result.tasks)
    for name, task in tasks.items():
        assert all(order.index(upstream) < order.index(name) for upstream in task.get("dependentTasks", []))


def test_the_resolver_finds_no_baseline_on_a_first_run(plain_run):
    _, _, result = plain_run
    assert result.outputs["latest_blessed_model_resolver-model-blessing-resolver"] == {"model_blessing": []}
    assert result.outputs["latest_blessed_model_resolver-model-resolver"] == {"model": []}


def test_each_task_writes_the_artifact_types_local_dag_runner_writes(plain_run):
    folder, _, result = plain_run
    local = base_pipeline.create_pipeline(
        PipelineSettings(),
        pipeline_root=str(folder / "unused"),
        data_root=str(folder / "data"),
        module_file=MODULE_FILE,
        serving_model_dir=str(folder / "unused"),
    )
    for component in local.components:
        if component.id not in result.outputs or component.id.startswith("latest_blessed"):
            continue
        for key, channel in component.outputs.items():
            [artifact] = result.outputs[component.id][key]
            assert artifact.title == f"tfx.{channel.type.TYPE_NAME}", (component.id, key)
            assert os.path.isdir(artifact.uri), (component.id, key)
    outputs = result.outputs
    [examples] = outputs["CsvExampleGen"]["examples"]
    assert sorted(os.listdir(examples.uri)) == ["Split-eval", "Split-train"]
    assert json.loads(examples.metadata["split_names"]) == ["train", "eval"]
    [trained] = outputs["Trainer"]["model"]
    assert os.path.isfile(os.path.join(trained.uri, "Format-Serving", "saved_model.pb"))
    # What the Evaluator judges and the Pusher pushes: the model with its training data's statistics.
    [model] = outputs["AttachTrainingStatistics"]["model"]
    assert os.path.isfile(os.path.join(model.uri, "Format-Serving", "saved_model.pb"))
    assert sorted(os.listdir(os.path.join(model.uri, "training_statistics"))) == ["Split-eval", "Split-train"]
    [blessing] = outputs["Evaluator"]["blessing"]
    assert os.listdir(blessing.uri) == ["BLESSED"] and blessing.metadata["blessed"] == 1
    assert blessing.metadata["current_model_id"] == model.name  # What a second run's resolver looks up.
    [pushed] = outputs["Pusher"]["pushed_model"]
    assert pushed.metadata["pushed"] == 1


def test_the_pushed_model_answers_raw_examples(plain_run):
    folder, _, _ = plain_run
    model_dir = serving.latest_model_dir(str(folder / "serving_model"))
    assert model_dir is not None
    rows = serving.read_rows(str(folder / "data" / "complaints.csv"), 20)
    probabilities = serving.predict(serving.load_signature(model_dir), rows, read_curated())
    assert probabilities.shape == (20,) and ((probabilities > 0) & (probabilities < 1)).all()


@pytest.mark.slow
def test_a_missing_column_fails_the_gate_task_and_nothing_after_it_runs(tmp_path):
    _write_rows(tmp_path / "data" / "complaints.csv", 300, drop="company")
    _, result = _execute(tmp_path, vertex_stand_in.StandIn(str(tmp_path / "runs")), "missing-column")
    gate = result.tasks["DataValidationGate"]
    assert gate.state == "FAILED"
    assert "feature 'company': Column dropped: Column is completely missing" in gate.log
    assert {name: result.state(name) for name in AFTER_THE_GATE} == {name: "SKIPPED" for name in AFTER_THE_GATE}
    assert result.state("ExampleValidator") == "SUCCEEDED"
    assert not (tmp_path / "serving_model").exists()


def _upload_window(bucket, months, rows_per_month=120):
    """What `runner --upload-data` puts on Cloud Storage: the range as span-<newest>/<month>.csv."""
    for month in months:
        rows = serving.read_rows(str(REPO_ROOT / "data_local" / f"span-{month}"), rows_per_month)
        _write(bucket / "spans" / f"span-{months[-1]}" / f"{month}.csv", rows)


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def scheduled_runs(tmp_path_factory):
    """One blueprint, compiled once, run twice as a schedule runs it: a month of data uploaded in between."""
    folder = tmp_path_factory.mktemp("vertex_spans")
    _upload_window(folder, [201503, 201504, 201505])
    _write(folder / "data" / "complaints.csv", serving.read_rows(str(folder / "spans" / "span-201505")))
    settings = VertexSettings(pipeline=PipelineSettings(train_steps=60, eval_steps=3, min_eval_auc=0.0))
    inputs = staging.GcsInputs(
        str(folder / "spans"), MODULE_FILE, CURATED_SCHEMA_FILE, uploads=[], spans="201503-201505"
    )
    where = runner.Destinations(str(folder / "pipeline_root"), str(folder / "serving_model"))
    blueprint = runner.compile_pipeline(settings, inputs, str(folder / "blueprint.json"), where)
    stand_in = vertex_stand_in.StandIn(str(folder / "runs"))
    first = stand_in.run(blueprint, "scheduled-1")
    _upload_window(folder, [201503, 201504, 201505, 201506])
    second = stand_in.run(blueprint, "scheduled-2")
    return folder, blueprint, first, second


def test_a_scheduled_run_reads_the_newest_span_and_checks_it_against_the_served_models_data(scheduled_runs):
    _, _, first, second = scheduled_runs
    for result in (first, second):
        failed = {name: task.log[-3000:] for name, task in result.tasks.items() if task.state != "SUCCEEDED"}
        assert not failed
    # CsvExampleGen's driver resolved {SPAN} when each run started: the same blueprint, newer data.
    spans = [run.outputs["CsvExampleGen"]["examples"][0].metadata["custom:span"] for run in (first, second)]
    assert spans == [
        201505,
        201506,
    ]
    assert "drift against the reference statistics (no model was served yet):" in first.tasks["DataValidationGate"].log
    gate = second.tasks["DataValidationGate"].log
    assert "drift against the data the served model learned from:" in gate
    assert re.search(r"  product: L-infinity [0-9.e-]+ \(at most 0\.25\)", gate)
    # The Evaluator judged the new model against the first run's, which the resolver found.
    [served] = first.outputs["AttachTrainingStatistics"]["model"]
    assert [model.uri for model in second.outputs["latest_blessed_model_resolver-model-resolver"]["model"]] == [
        served.uri
    ]
    [evaluation] = second.outputs["Evaluator"]["evaluation"]
    verdict = outcome.Verdict.read(evaluation.uri)
    assert verdict.baseline_auc is not None and verdict.allowed_decrease == pytest.approx(0.01)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http(url, body=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_prediction_container_serves_the_pushed_model_as_vertex_ai_calls_it(plain_run):
    """prediction_server.py with Vertex AI's environment, TensorFlow only (tf.Transform and tf_keras hidden)."""
    folder, _, _ = plain_run
    model_dir = serving.latest_model_dir(str(folder / "serving_model"))
    port = _free_port()
    routes = {"AIP_HEALTH_ROUTE": "/v1/endpoints/1/deployedModels/2", "AIP_PREDICT_ROUTE": "/v1/endpoints/1:predict"}
    environment = dict(os.environ, AIP_HTTP_PORT=str(port), AIP_STORAGE_URI=model_dir, **routes)
    only_tensorflow = (
        "import runpy, sys; sys.modules.update(tensorflow_transform=None, tf_keras=None);"
        f"runpy.run_path({str(SERVER)!r}, run_name='__main__')"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", only_tensorflow], env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            assert server.poll() is None, server.stderr.read()[-3000:]
            try:
                status, _ = _http(base + routes["AIP_HEALTH_ROUTE"])
                break
            except OSError:
                assert time.time() < deadline, "the prediction server did not start"
                time.sleep(0.5)
        assert status == 200
        rows = serving.read_rows(str(folder / "data" / "complaints.csv"), 5)
        rows = [{key: value for key, value in row.items() if key != columns.LABEL} for row in rows]
        instances = endpoint.instances(serving.serialize_raw_examples(rows, read_curated()))
        status, answer = _http(base + routes["AIP_PREDICT_ROUTE"], {"instances": instances})
        assert status == 200
        local = serving.predict(serving.load_signature(model_dir), rows, read_curated())
        assert answer["predictions"] == pytest.approx(local.tolist(), abs=1e-6)
        status, answer = _http(base + routes["AIP_PREDICT_ROUTE"], {"instances": [{"examples": "not base64"}]})
        assert status == 400 and "b64" in answer["error"]
        assert _http(base + "/predict", {"instances": instances})[0] == 404
    finally:
        server.terminate()
        server.wait(timeout=30)
