"""The Vertex AI switches, executed: Vertex AI Training, the endpoint and Dataflow in one blueprint.

The blueprint with all three switches on runs under the stand-in (tests/vertex_stand_in/) three
times: a first run, a rerun on the same data, and a run of the blueprint recompiled with more
training steps (everything before the Trainer a cache hit, a new model pushed). What the
services do is faked where the task calls them (tests/vertex_stand_in/cloud.py): the Trainer's
custom job is recorded and its container command run as the job's machine runs it; Model.upload,
deploy and undeploy change an endpoint kept in a file. Dataflow cannot run here: the Beam-based
components run their pipelines on local worker processes instead, which, like Dataflow's workers,
must import module.py by name, from the user-code wheel; a control shows that a module file loaded
from source (the form before the wheel) fails there.
"""

import dataclasses
import json
import os
import re
import shutil

import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.portability.stager import Stager
from vertex_blueprints import REAL, compile_local, stand_in_for, upload_window
from vertex_stand_in import cloud

from pipeline_tools.settings import MODULE_FILE, PipelineSettings
from pipeline_tools.vertex import blueprint as blueprints
from pipeline_tools.vertex import images
from pipeline_tools.vertex.settings import VertexSettings, beam_pipeline_args

SETTINGS = VertexSettings(
    **REAL,
    use_vertex_training=True,
    use_vertex_endpoint=True,
    use_dataflow=True,
    labels={"team": "risk"},
    # Every model is blessed (no AUC floor, no minimum of evidence): what is tested is what a push does.
    pipeline=PipelineSettings(
        train_steps=40, eval_steps=3, min_eval_auc=0.0, min_eval_examples=0, min_eval_positives=0
    ),
)


@pytest.fixture(scope="module")
def service_runs(tmp_path_factory):
    """(folder, blueprint, stand-in, [three runs]) of the blueprint with every switch on."""
    folder = tmp_path_factory.mktemp("vertex_services")
    upload_window(folder, [201503, 201504, 201505], rows_per_month=100)
    blueprint = compile_local(folder, SETTINGS, spans="201503-201505")
    stand_in = stand_in_for(folder, SETTINGS, network=True, dataflow_workers=2)
    runs = [stand_in.run(blueprint, "services-1"), stand_in.run(blueprint, "services-2")]
    longer = dataclasses.replace(SETTINGS, pipeline=dataclasses.replace(SETTINGS.pipeline, train_steps=60))
    runs.append(
        stand_in.run(
            compile_local(folder, longer, spans="201503-201505", name="longer.json"),
            "services-3",
        )
    )
    return folder, blueprint, stand_in, runs


def test_every_run_succeeds(service_runs):
    _, _, _, runs = service_runs
    assert [run.failures() for run in runs] == [{}, {}, {}]


def test_the_trainer_runs_as_a_vertex_ai_custom_job_that_writes_the_model(service_runs):
    _, _, stand_in, [first, _, third] = service_runs
    jobs = cloud.read_state(stand_in.network)["custom_jobs"]  # The second run's Trainer was a cache hit.
    assert [job["state"] for job in jobs] == ["JOB_STATE_SUCCEEDED"] * 2 and third.state("Trainer") == "SUCCEEDED"
    request = jobs[0]["request"]
    [pool] = request["jobSpec"]["workerPoolSpecs"]
    assert pool["containerSpec"]["imageUri"] == SETTINGS.image
    assert pool["containerSpec"]["command"][:3] == ["python", "-m", "tfx.scripts.run_executor"]
    assert pool["machineSpec"]["machineType"] == SETTINGS.training_machine_type
    assert request["jobSpec"]["serviceAccount"] == SETTINGS.service_account
    assert SETTINGS.run_labels.items() <= request["labels"].items()
    # The job loads module.py from the user-code wheel, and wrote the model the Trainer task reports.
    assert "module@" in json.dumps(request) and "_wheels/tfx_user_code_cfpb_model-0.0+" in json.dumps(request)
    [model] = first.outputs["Trainer"]["model"]
    assert os.path.isfile(os.path.join(model.uri, "Format-Serving", "saved_model.pb"))


def test_each_push_deploys_the_new_model_and_the_clean_up_undeploys_the_one_before(service_runs):
    _, _, stand_in, [first, second, third] = service_runs  # Pushes: the first run's model, then the third's.
    state = cloud.read_state(stand_in.network)
    [endpoint] = state["endpoints"].values()
    assert endpoint["displayName"] == SETTINGS.endpoint_display_name
    assert SETTINGS.run_labels.items() <= endpoint["labels"].items()
    # Two models uploaded (the first and third runs'), with this tutorial's prediction container.
    uploaded = sorted(state["models"].values(), key=lambda model: model["name"])
    assert len(uploaded) == 2
    assert {model["containerSpec"]["imageUri"] for model in uploaded} == {SETTINGS.serving_image_uri}
    # Only the newest is still deployed, with all the traffic: the clean-up undeployed the first.
    [deployed] = endpoint["deployedModels"]
    assert deployed["model"].split("@")[0] == uploaded[-1]["name"]
    assert endpoint["trafficSplit"] == {deployed["id"]: 100}
    assert "undeployed" in third.tasks["UndeployIdleModels"].log
    # The rerun on unchanged data pushed nothing, and its clean-up (which reads the push) ran again.
    assert second.outputs["Pusher"]["pushed_model"][0].metadata["pushed"] == 0
    assert second.state("UndeployIdleModels") == "SUCCEEDED"
    assert [run.outputs["Pusher"]["pushed_model"][0].metadata["pushed"] for run in (first, third)] == [1, 1]


def test_dataflow_workers_are_other_processes_that_load_module_py_from_the_wheel(service_runs):
    _, blueprint, _, [first, *_] = service_runs
    for task in blueprints.BEAM_COMPONENTS:
        assert "--runner=DataflowRunner" in blueprints.beam_options(blueprint, task)
        assert f"--sdk_container_image={SETTINGS.pipeline_image_uri}" in blueprints.beam_options(blueprint, task)
    transform = first.tasks["Transform"].log
    # The task installed the wheel (and passed it to Beam: what Dataflow installs on its workers), and
    # its Beam workers were processes of their own; the control below fails there without the wheel.
    assert re.search(r"Processing \S+/_wheels/tfx_user_code_cfpb_model-0\.0\+\w+-py3-none-any\.whl", transform)
    assert "sdk_worker_main" in transform


def test_a_module_file_loaded_from_source_fails_on_separate_workers(service_runs, tmp_path):
    """The control: Transform given module.py as a file (no wheel, the blueprint's form before) fails
    on worker processes, which cannot import the `user_module_0` it was loaded as."""
    folder, blueprint, _, _ = service_runs
    spec = json.loads(json.dumps(blueprint["pipelineSpec"]))
    tasks = spec["root"]["dag"]["tasks"]
    keep = {"CsvExampleGen", "ImportSchemaGen", "Transform"}
    spec["root"]["dag"]["tasks"] = {name: task for name, task in tasks.items() if name in keep}
    transform = spec["root"]["dag"]["tasks"]["Transform"]
    transform["dependentTasks"] = ["CsvExampleGen", "ImportSchemaGen"]
    parameters = transform["inputs"]["parameters"]
    del parameters["module_path"]
    module = tmp_path / "staged" / "module.py"
    module.parent.mkdir()
    shutil.copy(MODULE_FILE, module)
    parameters["module_file"] = {"runtimeValue": {"constant": str(module)}}
    inputs = spec["components"]["Transform"]["inputDefinitions"]["parameters"]
    inputs["module_file"] = inputs.pop("module_path")
    executor = spec["deploymentSpec"]["executors"]["Transform_executor"]["container"]
    executor["args"] = [arg.replace('"module_path"', '"module_file"') for arg in executor["args"]]
    control = dict(blueprint, pipelineSpec=spec)
    result = stand_in_for(tmp_path, SETTINGS, dataflow_workers=2).run(control, "module-file")
    assert result.state("CsvExampleGen") == "SUCCEEDED" and result.state("Transform") == "FAILED"
    assert "No module named 'user_module_0'" in result.tasks["Transform"].log


def test_beam_stages_the_wheel_for_dataflow_workers(tmp_path):
    """What DataflowRunner sends with a job before its workers boot: the options of the blueprint, and the
    --extra_package TFX's Transform adds. Dataflow's worker boot then pip-installs it (not run here)."""
    wheel = tmp_path / "tfx_user_code_cfpb_model-0.0+abc-py3-none-any.whl"
    wheel.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # An empty zip archive: the stager only copies it.
    options = PipelineOptions([*beam_pipeline_args(SETTINGS), f"--extra_package={wheel}"])
    (tmp_path / "staging").mkdir()
    staged = Stager.create_job_resources(options, str(tmp_path / "staging"), log_submission_env_dependencies=False)
    names = [beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(a.role_payload).staged_name for a in staged]
    assert wheel.name in names and "extra_packages.txt" in names
    assert (tmp_path / "staging" / "extra_packages.txt").read_text().split() == [wheel.name]
    assert f"--sdk_container_image={SETTINGS.pipeline_image_uri}" in beam_pipeline_args(SETTINGS)
    assert SETTINGS.pipeline_image_uri.endswith(images.pipeline_image_tag())
