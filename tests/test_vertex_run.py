"""The Vertex AI blueprint, executed: the plain variant run as Vertex AI runs it, task by task.

tests/vertex_stand_in/ plays Vertex AI (see its own tests): each task's command in its image's
environment only, the placeholders filled as the service fills them, caching, ML Metadata queries.
The blueprint is the one a real run compiles, with local folders where a real run has gs:// ones
(tests/vertex_blueprints.py). Four runs of one blueprint, as a schedule runs it: a first run; two
more on the same data; one after the next month was uploaded. Then the endpoint's prediction
container serves the pushed model the way Vertex AI calls it.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from vertex_blueprints import compile_local, stand_in_for, upload_window, write_rows

import base_pipeline
from conftest import REPO_ROOT
from pipeline_tools import columns, serving
from pipeline_tools.components.model_gate import Rules, Verdict
from pipeline_tools.schema import read_curated
from pipeline_tools.settings import PipelineSettings
from pipeline_tools.vertex import endpoint
from pipeline_tools.vertex.settings import VertexSettings

SERVER = REPO_ROOT / "pipeline_tools" / "vertex" / "containers" / "serving" / "prediction_server.py"
AFTER_THE_GATE = ("Transform", "Trainer", "Evaluator", "ModelGate", "Pusher")
# No AUC floor and no minimum of evidence: three months of rows; what is tested is what each task does.
SETTINGS = VertexSettings(
    pipeline=PipelineSettings(train_steps=60, eval_steps=3, min_eval_auc=0.0, min_eval_examples=0, min_eval_positives=0)
)
# What a rerun on unchanged data takes from Vertex AI's cache: everything that does not read the
# Resolver's answer (which changed: the first run's model is served now).
CACHED_ON_UNCHANGED_DATA = [
    "AttachTrainingStatistics",
    "CsvExampleGen",
    "ExampleValidator",
    "ImportSchemaGen",
    "StatisticsGen",
    "Trainer",
    "Transform",
]


@pytest.mark.slow
def test_csv_example_gen_alone_reads_the_newest_span(tmp_path):
    """The CsvExampleGen task by itself, driver (preCacheCheck) then executor, on the executor input exactly
    as the blueprint defines it: the driver resolves {SPAN}, and the executor reads that span from the
    driver's output file (schema 2.1; under 2.0 it read `parameters` and globbed the literal span-{SPAN}/*)."""
    upload_window(tmp_path, [201503, 201504], rows_per_month=40)
    upload_window(tmp_path, [201503, 201504, 201505], rows_per_month=40)
    blueprint = compile_local(tmp_path, SETTINGS, spans="201503-201505")
    assert blueprint["pipelineSpec"]["schemaVersion"] == "2.1.0"
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    blueprint["pipelineSpec"]["root"]["dag"]["tasks"] = {"CsvExampleGen": tasks["CsvExampleGen"]}
    result = stand_in_for(tmp_path, SETTINGS).run(blueprint, "example-gen-only")
    assert result.failures() == {}
    [examples] = result.outputs["CsvExampleGen"]["examples"]
    assert examples.metadata["custom:span"] == 201505  # What the driver recorded on the artifact.
    assert sorted(os.listdir(examples.uri)) == ["Split-eval", "Split-train"]


@pytest.fixture(scope="module")
def scheduled_runs(tmp_path_factory):
    """(folder, blueprint, [four runs]) of one blueprint: a first run, two more on the same data, and one
    after next month's data was uploaded."""
    folder = tmp_path_factory.mktemp("vertex_runs")
    upload_window(folder, [201503, 201504, 201505])
    write_rows(folder / "data" / "complaints.csv", serving.read_rows(str(folder / "spans" / "span-201505")))
    blueprint = compile_local(folder, SETTINGS, spans="201503-201505")
    stand_in = stand_in_for(folder, SETTINGS)
    runs = [stand_in.run(blueprint, f"scheduled-{number}") for number in (1, 2, 3)]
    upload_window(folder, [201503, 201504, 201505, 201506])
    runs.append(stand_in.run(blueprint, "scheduled-4"))
    return folder, blueprint, runs


def test_every_task_runs_in_dependency_order_and_succeeds(scheduled_runs):
    _, blueprint, [first, *_] = scheduled_runs
    assert first.failures() == {}
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    assert {name: result.state for name, result in first.tasks.items()} == {name: "SUCCEEDED" for name in tasks}
    order = list(first.tasks)
    for name, task in tasks.items():
        assert all(order.index(upstream) < order.index(name) for upstream in task.get("dependentTasks", []))


def test_the_resolver_finds_no_baseline_on_a_first_run(scheduled_runs):
    _, _, [first, *_] = scheduled_runs
    assert first.outputs["latest_blessed_model_resolver-model-blessing-resolver"] == {"model_blessing": []}
    assert first.outputs["latest_blessed_model_resolver-model-resolver"] == {"model": []}


def test_each_task_writes_the_artifact_types_local_dag_runner_writes(scheduled_runs):
    folder, _, [first, *_] = scheduled_runs
    local = base_pipeline.create_pipeline(
        PipelineSettings(),
        pipeline_root=str(folder / "unused"),
        data_root=str(folder / "data"),
        module_file=str(REPO_ROOT / "module.py"),
        serving_model_dir=str(folder / "unused"),
    )
    for component in local.components:
        if component.id.startswith("latest_blessed"):
            continue
        for key, channel in component.outputs.items():
            [artifact] = first.outputs[component.id][key]
            assert artifact.title == f"tfx.{channel.type.TYPE_NAME}", (component.id, key)
            assert artifact.state == "LIVE", (component.id, key)
            # The Evaluator blesses nothing (its config has no thresholds: the model gate decides), so it
            # writes nothing into its blessing; Cloud Storage has no empty folders.
            written = not (component.id == "Evaluator" and key == "blessing")
            assert os.path.isdir(artifact.uri) == written, (component.id, key)
    outputs = first.outputs
    [examples] = outputs["CsvExampleGen"]["examples"]
    assert json.loads(examples.metadata["split_names"]) == ["train", "eval"]
    [trained] = outputs["Trainer"]["model"]
    assert os.path.isfile(os.path.join(trained.uri, "Format-Serving", "saved_model.pb"))
    # What the Evaluator judges and the Pusher pushes: the model with its training data's statistics.
    [model] = outputs["AttachTrainingStatistics"]["model"]
    assert sorted(os.listdir(os.path.join(model.uri, "training_statistics"))) == ["Split-eval", "Split-train"]
    assert model.metadata["trained_model"] == trained.uri
    [blessing] = outputs["ModelGate"]["blessing"]
    assert sorted(os.listdir(blessing.uri)) == ["BLESSED", "verdict.json"] and blessing.metadata["blessed"] == 1
    assert blessing.metadata["current_model_id"] == model.name  # What a second run's resolver looks up.
    [pushed] = outputs["Pusher"]["pushed_model"]
    assert pushed.metadata["pushed"] == 1


def test_the_pushed_model_answers_raw_examples(scheduled_runs):
    folder, _, _ = scheduled_runs
    model_dir = serving.latest_model_dir(str(folder / "serving_model"))
    rows = serving.read_rows(str(folder / "data" / "complaints.csv"), 20)
    probabilities = serving.predict(serving.load_signature(model_dir), rows, read_curated())
    assert probabilities.shape == (20,) and ((probabilities > 0) & (probabilities < 1)).all()


def test_unchanged_data_is_a_cache_hit_and_the_served_model_is_not_pushed_again(scheduled_runs):
    """The second run's Resolver finds the first model; what reads it runs again, the rest is cached; the
    model gate recognises the candidate as the served model; from the third run on, every task is cached."""
    folder, _, [first, second, third, newer] = scheduled_runs
    assert second.failures() == {} and second.cache_hits() == CACHED_ON_UNCHANGED_DATA
    ran = sorted(name for name, task in second.tasks.items() if task.state == "SUCCEEDED")
    assert [name for name in ran if not name.startswith("latest_blessed")] == [
        "DataValidationGate",
        "Evaluator",
        "ModelGate",
        "Pusher",
    ]
    [served] = first.outputs["AttachTrainingStatistics"]["model"]
    assert [m.name for m in second.outputs["latest_blessed_model_resolver-model-resolver"]["model"]] == [served.name]
    [blessing] = second.outputs["ModelGate"]["blessing"]
    assert (
        blessing.metadata["blessed"] == 0 and "the candidate is the model being served" in blessing.metadata["reason"]
    )
    pushed = [run.outputs["Pusher"]["pushed_model"][0].metadata for run in (first, second)]
    assert [metadata["pushed"] for metadata in pushed] == [1, 0]
    # One version per push: the first run's, and the fourth's (new data) in the end.
    assert serving.pushed_versions(str(folder / "serving_model"))[0] == str(pushed[0]["pushed_version"])
    containers = [name for name in third.tasks if not name.startswith("latest_blessed")]
    assert third.cache_hits() == sorted(containers)


def test_a_scheduled_run_reads_the_newest_span_and_checks_it_against_the_served_models_data(scheduled_runs):
    _, _, [first, _, _, newer] = scheduled_runs
    assert newer.failures() == {}
    # CsvExampleGen's driver resolved {SPAN} when each run started: the same blueprint, newer data.
    spans = [run.outputs["CsvExampleGen"]["examples"][0].metadata["custom:span"] for run in (first, newer)]
    assert spans == [201505, 201506]
    assert "drift against the reference statistics (no model was served yet):" in first.tasks["DataValidationGate"].log
    gate = newer.tasks["DataValidationGate"].log
    assert "drift against the data the served model learned from:" in gate
    assert re.search(r"  product: L-infinity [0-9.e-]+ \(at most 0\.25\)", gate)
    # The Evaluator judged the new model against the first run's, which the resolver found.
    [served] = first.outputs["AttachTrainingStatistics"]["model"]
    assert [model.uri for model in newer.outputs["latest_blessed_model_resolver-model-resolver"]["model"]] == [
        served.uri
    ]
    # The model gate judged it on the Evaluator's evidence, the served model's AUC on the same examples beside it.
    [blessing] = newer.outputs["ModelGate"]["blessing"]
    verdict = Verdict.read(blessing.uri)
    assert verdict.baseline_auc is not None and verdict.evidence.change_interval is not None
    assert verdict.rules == Rules(0.0, 0, 0) and verdict.evidence.examples > 0


@pytest.mark.slow
def test_a_missing_column_fails_the_gate_task_and_nothing_after_it_runs(tmp_path):
    rows = serving.read_rows(str(REPO_ROOT / "data_local"), 300)
    write_rows(tmp_path / "data" / "complaints.csv", [{k: v for k, v in row.items() if k != "company"} for row in rows])
    blueprint = compile_local(tmp_path, SETTINGS, data_root=tmp_path / "data")
    result = stand_in_for(tmp_path, SETTINGS).run(blueprint, "missing-column")
    gate = result.tasks["DataValidationGate"]
    assert gate.state == "FAILED"
    assert "feature 'company': Column dropped: Column is completely missing" in gate.log
    assert {name: result.state(name) for name in AFTER_THE_GATE} == {name: "UNSCHEDULABLE" for name in AFTER_THE_GATE}
    assert result.state("ExampleValidator") == "SUCCEEDED"
    assert not (tmp_path / "serving_model").exists()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http(url, body=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_prediction_container_serves_the_pushed_model_as_vertex_ai_calls_it(scheduled_runs):
    """prediction_server.py with Vertex AI's environment, TensorFlow only (tf.Transform and tf_keras hidden)."""
    folder, _, _ = scheduled_runs
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
