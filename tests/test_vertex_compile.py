"""The shared pipeline compiles offline to a Vertex AI Pipelines blueprint, with and without the Vertex switches."""

import json

import pytest
import tfx
from tfx import v1 as t

import base_pipeline

IMAGE = f"gcr.io/tfx-oss-public/tfx:{tfx.__version__}"
TRAINING_ARGS = {"project": "my-project", "worker_pool_specs": [
    {"machine_spec": {"machine_type": "n1-standard-4"}, "replica_count": 1}]}
SERVING_ARGS = {"project_id": "my-project", "endpoint_name": "cfpb-disputes", "machine_type": "n1-standard-2"}


def _compile(tmp_path, monkeypatch, **vertex):
    """Compiles the pipeline with gs:// paths, as the Vertex notebook does, and returns the JSON."""
    # Packaging module.py's folder would copy a wheel to the gs:// root at compile time.
    monkeypatch.setenv("UNSUPPORTED_DO_NOT_PACKAGE_USER_MODULES", "1")
    pipeline = base_pipeline.create_pipeline(
        pipeline_root="gs://bucket/pipeline_root", data_root="gs://bucket/data",
        module_file="gs://bucket/module.py", serving_model_dir="gs://bucket/serving_model", **vertex,
    )
    runner = t.orchestration.experimental.KubeflowV2DagRunner(
        config=t.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=IMAGE),
        output_dir=str(tmp_path), output_filename="pipeline.json",
    )
    runner.run(pipeline, write_out=True)
    return json.loads((tmp_path / "pipeline.json").read_text())


def _custom_config(blueprint, task):
    parameters = blueprint["pipelineSpec"]["root"]["dag"]["tasks"][task]["inputs"]["parameters"]
    if "custom_config" not in parameters:
        return None
    return json.loads(parameters["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])


@pytest.mark.parametrize("training, serving", [(False, False), (True, True)])
def test_blueprint_tasks_dependencies_and_images(tmp_path, monkeypatch, training, serving):
    vertex = {"vertex_region": "us-central1"} if training or serving else {}
    if training:
        vertex["vertex_training_args"] = TRAINING_ARGS
    if serving:
        vertex["vertex_serving_args"] = SERVING_ARGS
    blueprint = _compile(tmp_path, monkeypatch, **vertex)
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    dependencies = {name: sorted(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert dependencies == {
        "CsvExampleGen": [],
        "StatisticsGen": ["CsvExampleGen"],
        "SchemaGen": ["StatisticsGen"],
        "ExampleValidator": ["SchemaGen", "StatisticsGen"],
        "Transform": ["CsvExampleGen", "SchemaGen"],
        "Trainer": ["SchemaGen", "Transform"],
        # The Resolver becomes two ML Metadata queries on Vertex.
        "latest_blessed_model_resolver-model-resolver": [],
        "latest_blessed_model_resolver-model-blessing-resolver": [],
        "Evaluator": ["CsvExampleGen", "Trainer", "latest_blessed_model_resolver-model-resolver"],
        "Pusher": ["Evaluator", "Trainer"],
    }
    images = {executor["container"]["image"]
              for executor in blueprint["pipelineSpec"]["deploymentSpec"]["executors"].values()
              if "container" in executor}
    assert images == {IMAGE}

    trainer_config, pusher_config = _custom_config(blueprint, "Trainer"), _custom_config(blueprint, "Pusher")
    if training:
        assert trainer_config[t.extensions.google_cloud_ai_platform.ENABLE_VERTEX_KEY] is True
        assert trainer_config[t.extensions.google_cloud_ai_platform.VERTEX_REGION_KEY] == "us-central1"
        assert trainer_config[t.extensions.google_cloud_ai_platform.TRAINING_ARGS_KEY] == TRAINING_ARGS
    else:
        assert not trainer_config
    if serving:
        assert pusher_config[t.extensions.google_cloud_ai_platform.SERVING_ARGS_KEY] == SERVING_ARGS
    else:
        assert not pusher_config


def test_vertex_switches_need_a_region(tmp_path):
    with pytest.raises(ValueError, match="vertex_region is required"):
        base_pipeline.create_pipeline(
            pipeline_root="gs://b/root", data_root="gs://b/data", module_file="gs://b/module.py",
            serving_model_dir="gs://b/serving", vertex_training_args=TRAINING_ARGS,
        )
