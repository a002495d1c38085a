"""The Vertex AI stand-in held to the contract it claims: one small blueprint per rule.

Each rule is what KFP's pipeline_spec.proto or Vertex AI's documentation says the service does
(tests/vertex_stand_in/service.py quotes them); each blueprint is a few `python -c` tasks, so these
run in seconds and need no TFX.
"""

import json
import os

import pytest
import tfx
from vertex_stand_in import ImageCatalogue, StandIn, StandInError

from conftest import REPO_ROOT
from pipeline_tools.vertex import images as vertex_images

TFX_IMAGE = f"gcr.io/tfx-oss-public/tfx:{tfx.__version__}"
SCHEMA = "title: system.Artifact\ntype: object\n"
# A task that writes its own arguments (after the placeholders were filled) and its executor input.
RECORD = (
    "import json, os, sys; out = sys.argv[1]; os.makedirs(os.path.dirname(out), exist_ok=True);"
    "open(out, 'w').write(json.dumps({'argv': sys.argv[2:], 'env': dict(os.environ)}))"
)


def _task(name, after=(), parameters=None, artifacts=None, cache=True):
    task = {"taskInfo": {"name": name}, "componentRef": {"name": name}, "cachingOptions": {"enableCache": cache}}
    if after:
        task["dependentTasks"] = list(after)
    inputs = {}
    if parameters:
        inputs["parameters"] = {key: {"runtimeValue": value} for key, value in parameters.items()}
    if artifacts:
        inputs["artifacts"] = {
            key: {"taskOutputArtifact": {"producerTask": producer, "outputArtifactKey": output}}
            for key, (producer, output) in artifacts.items()
        }
    if inputs:
        task["inputs"] = inputs
    return task


def _blueprint(root, tasks, executors, outputs=None, pipeline="toy"):
    """A PipelineJob body: tasks {name: task}, executors {name: executor}, outputs {name: [artifact keys]}."""
    components = {}
    for name in tasks:
        component = {"executorLabel": f"{name}_executor"}
        keys = (outputs or {}).get(name, [])
        if keys:
            definitions = {key: {"artifactType": {"instanceSchema": SCHEMA}} for key in keys}
            component["outputDefinitions"] = {"artifacts": definitions}
        components[name] = component
    return {
        "displayName": pipeline,
        "runtimeConfig": {"gcsOutputDirectory": str(root)},
        "pipelineSpec": {
            "pipelineInfo": {"name": pipeline},
            "schemaVersion": "2.1.0",
            "root": {"dag": {"tasks": tasks}},
            "components": components,
            "deploymentSpec": {"executors": {f"{name}_executor": spec for name, spec in executors.items()}},
        },
    }


def _container(code, *args, image=TFX_IMAGE, pre_cache=None):
    container = {"image": image, "command": ["python", "-c", code], "args": list(args)}
    if pre_cache:
        container["lifecycle"] = {"preCacheCheck": {"command": ["python", "-c", pre_cache[0]], "args": pre_cache[1:]}}
    return {"container": container}


@pytest.fixture
def stand_in(tmp_path):
    return StandIn(str(tmp_path / "service"), ImageCatalogue(str(tmp_path / "images"), tfx.__version__))


def _recorded(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_placeholders_are_filled_as_the_proto_lists(stand_in, tmp_path):
    out = str(tmp_path / "record.json")
    tasks = {
        "a": _task("a", parameters={"p": {"constant": "text"}, "n": {"constant": 7.0}}),
        "b": _task("b", artifacts={"given": ("a", "made")}),
    }
    executors = {
        "a": _container(
            RECORD + ";os.makedirs(sys.argv[2], exist_ok=True)",
            str(tmp_path / "a.json"),
            "{{$.outputs.artifacts['made'].uri}}",
            "{{$.inputs.parameters['p']}}",
            "{{$.inputs.parameters['n']}}",
            "{{$.outputs.output_file}}",
        ),
        "b": _container(RECORD, out, "{{$.inputs.artifacts['given'].uri}}", "{{$}}"),
    }
    result = stand_in.run(_blueprint(tmp_path / "root", tasks, executors, {"a": ["made"]}), "run-1")
    assert result.failures() == {}
    made_uri, text, number, output_file = _recorded(str(tmp_path / "a.json"))["argv"]
    assert (text, number) == ("text", "7.0")
    assert made_uri.startswith(str(tmp_path / "root" / stand_in.project_number / "run-1" / "a_"))
    assert output_file == os.path.join(os.path.dirname(made_uri), "executor_output.json")
    given_uri, whole = _recorded(out)["argv"]
    assert given_uri == made_uri
    executor_input = json.loads(whole)
    [artifact] = executor_input["inputs"]["artifacts"]["given"]["artifacts"]
    assert artifact["uri"] == made_uri and artifact["name"].startswith("projects/")
    assert set(executor_input["outputs"]) == {"artifacts", "outputFile"}


def test_schema_2_1_constants_are_parameter_values_and_2_0_constants_the_deprecated_parameters(stand_in, tmp_path):
    tasks = {
        "new": _task("new", parameters={"p": {"constant": "x"}}),
        "old": _task("old", parameters={"p": {"constantValue": {"stringValue": "x"}}}),
    }
    executors = {name: _container(RECORD, str(tmp_path / f"{name}.json"), "{{$}}") for name in tasks}
    assert stand_in.run(_blueprint(tmp_path / "root", tasks, executors), "run-1").failures() == {}
    new = json.loads(_recorded(str(tmp_path / "new.json"))["argv"][0])["inputs"]
    old = json.loads(_recorded(str(tmp_path / "old.json"))["argv"][0])["inputs"]
    assert new == {"artifacts": {}, "parameterValues": {"p": "x"}}
    assert old == {"artifacts": {}, "parameters": {"p": {"stringValue": "x"}}}


@pytest.mark.parametrize(
    "argument, message",
    [
        ("{{$.inputs.parameters['missing']}}", "no such parameter"),
        ("{{$.inputs.artifacts['given'].uri}}", "input artifact 'given' has no artifact"),
        ("{{$.pipeline_job_name}}", "is not one the stand-in models"),
    ],
)
def test_a_placeholder_it_cannot_fill_fails_loudly(stand_in, tmp_path, argument, message):
    tasks = {"r": _task("r"), "a": _task("a", artifacts={"given": ("r", "model")})}
    executors = {
        "r": {
            "resolver": {
                "outputArtifactQueries": {"model": {"filter": 'schema_title="system.Artifact" AND state=LIVE'}}
            }
        },
        "a": _container("pass", argument),
    }
    with pytest.raises(StandInError, match=message):
        stand_in.run(_blueprint(tmp_path / "root", tasks, executors, {"r": ["model"]}), "run-1")


def test_a_task_sees_only_what_its_image_sets(stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    monkeypatch.setenv("STAND_IN_TEST_PROCESS_ONLY", "1")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    tasks = {"a": _task("a")}
    executors = {"a": _container(RECORD, str(tmp_path / "a.json"))}
    assert stand_in.run(_blueprint(tmp_path / "root", tasks, executors), "run-1").failures() == {}
    environment = _recorded(str(tmp_path / "a.json"))["env"]
    expected = set(stand_in.images.tfx_image.environment) | {"PATH", "HOME"}
    assert set(environment) - {"LC_CTYPE"} == expected  # Python may set LC_CTYPE itself (PEP 538).
    assert "STAND_IN_TEST_PROCESS_ONLY" not in environment and "PYTHONPATH" not in environment
    # TFX 1.16's Dockerfile sets no TF_USE_LEGACY_KERAS; 1.21's does (ENV TF_USE_LEGACY_KERAS=1).
    assert ("TF_USE_LEGACY_KERAS" in environment) == (tfx.__version__ == "1.21.0")


def test_an_image_that_was_never_built_fails_the_run(stand_in, tmp_path):
    tasks = {"a": _task("a")}
    executors = {"a": _container("pass", image="us-central1-docker.pkg.dev/p/r/never-built:1")}
    with pytest.raises(KeyError, match="does not exist"):
        stand_in.run(_blueprint(tmp_path / "root", tasks, executors), "run-1")


def test_the_pipeline_image_holds_what_its_dockerfile_copies(stand_in, tmp_path):
    image = "us-central1-docker.pkg.dev/p/r/cfpb-pipeline:test"
    built = stand_in.images.build_pipeline_image(image, vertex_images.PIPELINE_DOCKERFILE, str(REPO_ROOT))
    assert set(built.environment) - set(stand_in.images.tfx_image.environment) == {"PYTHONPATH"}
    probe = "import importlib.util as u, sys; print([u.find_spec(m) is not None for m in sys.argv[1:]])"
    tasks = {"a": _task("a")}
    modules = ["pipeline_tools.components.entrypoint", "pipeline_tools.views", "base_pipeline", "module"]
    executors = {"a": _container(probe, *modules, image=image)}
    result = stand_in.run(_blueprint(tmp_path / "root", tasks, executors), "run-1")
    assert result.failures() == {}
    assert "[True, False, False, False]" in result.tasks["a"].log  # The components, nothing else of ours.


def _counter_blueprint(root, value="1", cache=True, pipeline="toy"):
    counter = "import sys; open(sys.argv[1], 'a').write('x')"
    tasks = {"a": _task("a", parameters={"p": {"constant": value}}, cache=cache)}
    return _blueprint(root, tasks, {"a": _container(counter, str(root / "runs.txt"))}, {"a": ["out"]}, pipeline)


def test_caching_reuses_outputs_when_the_interface_is_unchanged(stand_in, tmp_path):
    root = tmp_path / "root"
    first = stand_in.run(_counter_blueprint(root), "run-1")
    second = stand_in.run(_counter_blueprint(root), "run-2")
    assert (first.state("a"), second.state("a")) == ("SUCCEEDED", "SKIPPED") and second.cache_hits() == ["a"]
    assert [a.name for a in second.outputs["a"]["out"]] == [a.name for a in first.outputs["a"]["out"]]
    stand_in.run(_counter_blueprint(root, value="2"), "run-3")  # Another parameter value: another key.
    stand_in.run(_counter_blueprint(root), "run-4", enable_caching=False)  # PipelineJob(enable_caching=False).
    stand_in.run(_counter_blueprint(root, cache=False), "run-5", enable_caching=None)  # The task's own option.
    stand_in.run(_counter_blueprint(root, pipeline="other"), "run-6")  # Only the same pipeline name shares.
    assert (root / "runs.txt").read_text() == "x" * 5


def test_the_pre_cache_check_changes_the_cache_key_and_is_not_passed_on(stand_in, tmp_path):
    data = tmp_path / "data.txt"
    hook = (
        "import json, sys; out = json.loads(sys.argv[1])['outputs']['outputFile'];"
        f"open(out, 'w').write(json.dumps({{'parameterValues': {{'fingerprint': open({str(data)!r}).read()}}}}))"
    )
    tasks = {"a": _task("a", parameters={"p": {"constant": "1"}})}
    executors = {"a": _container(RECORD, str(tmp_path / "a.json"), "{{$}}", pre_cache=(hook, "{{$}}"))}
    blueprint = _blueprint(tmp_path / "root", tasks, executors)
    data.write_text("v1")
    assert stand_in.run(blueprint, "run-1").state("a") == "SUCCEEDED"
    # The main container gets the executor input as the blueprint defines it, not the hook's values.
    assert json.loads(_recorded(str(tmp_path / "a.json"))["argv"][0])["inputs"]["parameterValues"] == {"p": "1"}
    assert stand_in.run(blueprint, "run-2").state("a") == "SKIPPED"
    data.write_text("v2")
    assert stand_in.run(blueprint, "run-3").state("a") == "SUCCEEDED"


def test_a_failed_task_leaves_pending_outputs_and_only_its_dependents_unscheduled(stand_in, tmp_path):
    tasks = {"bad": _task("bad"), "after": _task("after", after=["bad"]), "other": _task("other")}
    executors = {"bad": _container("raise SystemExit(3)"), "after": _container("pass"), "other": _container("pass")}
    result = stand_in.run(_blueprint(tmp_path / "root", tasks, executors, {"bad": ["out"]}), "run-1")
    assert {name: result.state(name) for name in tasks} == {
        "bad": "FAILED",
        "after": "UNSCHEDULABLE",
        "other": "SUCCEEDED",  # PipelineJob's default failure policy is "slow".
    }
    assert [artifact.state for artifact in stand_in.registry] == ["PENDING"]


def _producer(metadata_value):
    """A task whose ExecutorOutput gives its output artifact metadata {'score': value}."""
    return (
        "import json, sys; i = json.loads(sys.argv[1]); out = i['outputs']['outputFile'];"
        "a = i['outputs']['artifacts']['made']['artifacts'][0];"
        f"open(out, 'w').write(json.dumps({{'artifacts': {{'made': {{'artifacts': "
        f"[{{'name': a['name'], 'uri': a['uri'], 'metadata': {{'score': {metadata_value}}}}}]}}}}}}))"
    )


def test_resolver_queries_answer_newest_first_live_artifacts_of_this_pipeline(stand_in, tmp_path):
    root = tmp_path / "root"
    for run, score in (("run-1", 1), ("run-2", 2), ("run-3", 1)):
        tasks = {"p": _task("p", parameters={"run": {"constant": run}})}
        stand_in.run(_blueprint(root, tasks, {"p": _container(_producer(score), "{{$}}")}, {"p": ["made"]}), run)
    made = [artifact.name for artifact in stand_in.registry]
    query = 'schema_title="system.Artifact" AND state=LIVE AND metadata.score.number_value=1'
    tasks = {"r": _task("r"), "n": _task("n", artifacts={"given": ("r", "found")})}
    name_query = "schema_title=\"system.Artifact\" AND name=\"{{$.inputs.artifacts['given'].metadata['score']}}\""
    executors = {
        "r": {"resolver": {"outputArtifactQueries": {"found": {"filter": query}}}},
        "n": {"resolver": {"outputArtifactQueries": {"found": {"filter": name_query, "limit": 5}}}},
    }
    result = stand_in.run(_blueprint(root, tasks, executors, {"r": ["found"], "n": ["found"]}), "query")
    assert [artifact.name for artifact in result.outputs["r"]["found"]] == [made[2]]  # Newest first, limit 1.
    assert result.outputs["n"]["found"] == []  # No artifact is named "1".
    other = stand_in.run(_blueprint(root, tasks, executors, {"r": ["found"], "n": ["found"]}, pipeline="other"), "q")
    assert other.outputs["r"]["found"] == []  # Scoped to the pipeline's own context.
    unknown = {"r": {"resolver": {"outputArtifactQueries": {"found": {"filter": 'in_context("x")'}}}}}
    with pytest.raises(StandInError, match="does not model the query condition"):
        stand_in.run(_blueprint(root, {"r": _task("r")}, unknown, {"r": ["found"]}), "q2")


def test_a_resolver_placeholder_over_no_artifact_matches_nothing(stand_in, tmp_path):
    """What TFX's latest-blessed-model resolver meets on a first run (an assumption: see service.py)."""
    tasks = {"first": _task("first"), "second": _task("second", artifacts={"input": ("first", "found")})}
    second = "name=\"{{$.inputs.artifacts['input'].metadata['current_model_id']}}\""
    executors = {
        "first": {"resolver": {"outputArtifactQueries": {"found": {"filter": "state=LIVE"}}}},
        "second": {"resolver": {"outputArtifactQueries": {"found": {"filter": second}}}},
    }
    result = stand_in.run(
        _blueprint(tmp_path / "root", tasks, executors, {"first": ["found"], "second": ["found"]}), "r"
    )
    assert result.outputs["second"]["found"] == []


def test_dataflow_options_need_the_local_workers_the_stand_in_offers(stand_in, tmp_path):
    tasks = {"a": _task("a")}
    executors = {"a": _container("pass", "--runner=DataflowRunner", "--project=p")}
    with pytest.raises(StandInError, match="Dataflow"):
        stand_in.run(_blueprint(tmp_path / "root", tasks, executors), "run-1")
    local = StandIn(str(tmp_path / "local"), stand_in.images, local_dataflow_workers=2)
    executors = {
        "a": _container(
            "import sys; print(sys.argv[1:])", "--runner=DataflowRunner", "--project=p", "--sdk_container_image=i"
        )
    }
    result = local.run(_blueprint(tmp_path / "root", tasks, executors), "run-1")
    local_options = ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert str(["--sdk_container_image=i", *local_options]) in result.tasks["a"].log
