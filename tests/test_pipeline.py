"""base_pipeline.py: the components, their order and wiring, and the checks of its inputs."""

import dataclasses
import tempfile

import pytest
from google.protobuf import json_format
from tensorflow_model_analysis.proto import config_pb2 as tfma_config
from tfx.orchestration.metadata import sqlite_metadata_connection_config
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2

import base_pipeline
from conftest import REPO_ROOT, staged_data_local
from pipeline_tools import spans
from pipeline_tools.settings import CURATED_SCHEMA_FILE, REFERENCE_STATISTICS_FILE, PipelineSettings

MODULE_FILE = str(REPO_ROOT / "module.py")
# data_local's spans staged as the runners stage them: one span, span-201512, holding ten months.
DEFAULTS, DATA_ROOT = staged_data_local(tempfile.mkdtemp(prefix="staged-"))
TEACHING = dataclasses.replace(DEFAULTS, infer_schema=True, data_gate=False)  # The local notebook's variant.


def _pipeline(tmp_path, settings=None, **paths):
    """The pipeline over the staged spans (the settings get their range), or over paths['data_root']."""
    settings = settings or PipelineSettings()
    if "data_root" not in paths:
        settings = dataclasses.replace(settings, spans=DEFAULTS.spans)
    arguments = dict(
        pipeline_root=str(tmp_path / "root"),
        data_root=DATA_ROOT,
        module_file=MODULE_FILE,
        serving_model_dir=str(tmp_path / "serving"),
    )
    arguments.update(paths)
    return base_pipeline.create_pipeline(settings, **arguments)


def _proto(component, key, message):
    """Returns an exec property as a proto (components keep them as JSON text)."""
    value = component.exec_properties[key]
    return value if not isinstance(value, str) else json_format.Parse(value, message)


def _producer(component, input_key):
    """Returns the id of the component whose output feeds `input_key` of `component`."""
    return component.inputs[input_key].producer_component_id


EXPECTED_ORDER = [
    "CsvExampleGen",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "latest_blessed_model_resolver",
    "DataValidationGate",
    "Transform",
    "Trainer",
    "AttachTrainingStatistics",
    "Evaluator",
    "ModelGate",
    "Pusher",
]
# The teaching notebook's variant: SchemaGen infers the schema, anomalies are shown, not gated.
TEACHING_ORDER = [
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "latest_blessed_model_resolver",
    "Transform",
    "Trainer",
    "AttachTrainingStatistics",
    "Evaluator",
    "ModelGate",
    "Pusher",
]


def test_components_in_order(tmp_path):
    components = base_pipeline.create_components(DEFAULTS, DATA_ROOT, MODULE_FILE, str(tmp_path / "serving"))
    assert [component.id for component in components.in_order()] == EXPECTED_ORDER
    teaching = base_pipeline.create_components(TEACHING, DATA_ROOT, MODULE_FILE, str(tmp_path / "serving"))
    assert [component.id for component in teaching.in_order()] == TEACHING_ORDER
    assert teaching.data_gate is None


def test_curated_schema_is_imported_by_default(tmp_path):
    c = {component.id: component for component in _pipeline(tmp_path).components}
    assert c["ImportSchemaGen"].exec_properties["schema_file"] == CURATED_SCHEMA_FILE
    assert CURATED_SCHEMA_FILE == str(REPO_ROOT / "schema" / "schema.pbtxt")
    other = str(tmp_path / "other.pbtxt")
    (tmp_path / "other.pbtxt").write_text((REPO_ROOT / "schema" / "schema.pbtxt").read_text())
    c = {component.id: component for component in _pipeline(tmp_path, PipelineSettings(schema_file=other)).components}
    assert c["ImportSchemaGen"].exec_properties["schema_file"] == other


def test_pipeline_holds_the_same_components_sorted_upstream_first(tmp_path):
    pipeline = _pipeline(tmp_path)
    ids = [component.id for component in pipeline.components]
    assert sorted(ids) == sorted(EXPECTED_ORDER)
    for position, component in enumerate(pipeline.components):
        for channel in component.inputs.values():
            producer = getattr(channel, "producer_component_id", None)  # None: an ML Metadata query.
            assert producer is None or ids.index(producer) < position
    assert pipeline.pipeline_info.pipeline_name == PipelineSettings().pipeline_name == "cfpb-consumer-disputes"


def test_wiring(tmp_path):
    c = {component.id: component for component in _pipeline(tmp_path).components}
    assert _producer(c["StatisticsGen"], "examples") == "CsvExampleGen"
    assert _producer(c["ExampleValidator"], "statistics") == "StatisticsGen"
    assert _producer(c["ExampleValidator"], "schema") == "ImportSchemaGen"
    assert _producer(c["DataValidationGate"], "anomalies") == "ExampleValidator"
    assert _producer(c["DataValidationGate"], "statistics") == "StatisticsGen"
    assert _producer(c["DataValidationGate"], "schema") == "ImportSchemaGen"
    assert _producer(c["Transform"], "examples") == "CsvExampleGen"
    assert _producer(c["Transform"], "schema") == "ImportSchemaGen"
    # Transform has no input from the gate, only the ordering: it runs after the gate passed.
    assert c["DataValidationGate"] in c["Transform"].upstream_nodes
    assert _producer(c["Trainer"], "schema") == "ImportSchemaGen"
    assert _producer(c["Trainer"], "examples") == "Transform"
    assert _producer(c["Trainer"], "transform_graph") == "Transform"
    # The served model's data: the gate compares with what the latest blessed model learned from.
    assert _producer(c["DataValidationGate"], "baseline_model") == "latest_blessed_model_resolver"
    assert c["DataValidationGate"].exec_properties["reference_statistics"] == REFERENCE_STATISTICS_FILE
    # The trained model leaves with the statistics of its training data, for the next run's gate.
    assert _producer(c["AttachTrainingStatistics"], "trained_model") == "Trainer"
    assert _producer(c["AttachTrainingStatistics"], "statistics") == "StatisticsGen"
    assert _producer(c["Evaluator"], "model") == "AttachTrainingStatistics"
    assert _producer(c["Evaluator"], "baseline_model") == "latest_blessed_model_resolver"
    assert _producer(c["Evaluator"], "examples") == "CsvExampleGen"
    # The Pusher obeys the model gate, which reads the Evaluator's evidence and knows the served model.
    assert _producer(c["ModelGate"], "evaluation") == "Evaluator"
    assert _producer(c["ModelGate"], "model") == "AttachTrainingStatistics"
    assert _producer(c["ModelGate"], "baseline_model") == "latest_blessed_model_resolver"
    assert _producer(c["Pusher"], "model") == "AttachTrainingStatistics"
    assert _producer(c["Pusher"], "model_blessing") == "ModelGate"


def test_spans_are_read_with_a_span_pattern(tmp_path):
    """The staged range is one span, span-<newest month>, that {SPAN} resolves to when the run starts."""
    assert DEFAULTS.spans == "201503-201512"
    assert spans.available(DATA_ROOT) == [201512]
    assert spans.staged_spans(DATA_ROOT) == list(range(201503, 201513))
    example_gen = _pipeline(tmp_path).components[0]
    assert example_gen.exec_properties["input_base"] == DATA_ROOT
    splits = _proto(example_gen, "input_config", example_gen_pb2.Input()).splits
    assert [(split.name, split.pattern) for split in splits] == [("single_split", "span-{SPAN}/*")]
    hashed = _proto(example_gen, "output_config", example_gen_pb2.Output()).split_config.splits
    assert [(split.name, split.hash_buckets) for split in hashed] == [("train", 2), ("eval", 1)]
    # Span folders are not read as they are: the runners stage a range first.
    with pytest.raises(ValueError, match="holds span folders: pass a range in settings.spans"):
        _pipeline(tmp_path, PipelineSettings(), data_root=str(REPO_ROOT / "data_local"))
    with pytest.raises(ValueError, match="holds no span-N folder"):
        _pipeline(tmp_path, PipelineSettings(spans="201503-201504"), data_root=str(tmp_path))


def test_parameters_reach_the_components(tmp_path):
    gate = dict(min_eval_auc=0.61, min_eval_examples=400, min_eval_positives=9)
    settings = PipelineSettings(train_steps=123, eval_steps=7, enable_cache=False, **gate)
    pipeline = _pipeline(tmp_path, settings, beam_pipeline_args=["--direct_num_workers=2"])
    c = {component.id: component for component in pipeline.components}
    assert _proto(c["Trainer"], "train_args", trainer_pb2.TrainArgs()).num_steps == 123
    assert _proto(c["Trainer"], "eval_args", trainer_pb2.EvalArgs()).num_steps == 7
    assert c["Trainer"].exec_properties["module_file"] == MODULE_FILE
    assert pipeline.beam_pipeline_args == ["--direct_num_workers=2"]
    assert not pipeline.enable_cache
    splits = _proto(c["CsvExampleGen"], "output_config", example_gen_pb2.Output()).split_config.splits
    assert [(s.name, s.hash_buckets) for s in splits] == [("train", 2), ("eval", 1)]
    gate = c["ModelGate"].exec_properties
    assert (gate["min_auc"], gate["min_examples"], gate["min_positives"]) == (0.61, 400, 9)
    push = _proto(c["Pusher"], "push_destination", pusher_pb2.PushDestination())
    assert push.filesystem.base_directory == str(tmp_path / "serving")


def test_the_evaluator_measures_overall_and_by_product_and_leaves_the_verdict_to_the_model_gate(tmp_path):
    c = {component.id: component for component in _pipeline(tmp_path, PipelineSettings(min_eval_auc=0.61)).components}
    eval_config = _proto(c["Evaluator"], "eval_config", tfma_config.EvalConfig())
    assert [list(spec.feature_keys) for spec in eval_config.slicing_specs] == [[], ["product"]]
    metrics = {metric.class_name: metric for metric in eval_config.metrics_specs[0].metrics}
    # MeanLabel: the share of disputes, from which the gate counts the disputed examples of each slice.
    assert set(metrics) == {"ExampleCount", "MeanLabel", "AUC", "BinaryAccuracy", "Precision", "Recall"}
    assert not any(metric.per_slice_thresholds or metric.HasField("threshold") for metric in metrics.values())
    assert eval_config.model_specs[0].label_key == "consumer_disputed"
    assert eval_config.options.HasField("include_default_metrics")
    assert not eval_config.options.include_default_metrics.value


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("train_steps", -5, "train_steps must be a positive integer, got -5"),
        ("eval_steps", 0, "eval_steps must be a positive integer"),
        ("train_steps", 2.5, "train_steps must be a positive integer"),
        ("train_steps", True, "train_steps must be a positive integer"),
        ("min_eval_auc", 1.5, r"min_eval_auc must lie in \[0, 1\], got 1.5"),
        ("min_eval_examples", -1, "min_eval_examples must be a whole number >= 0, got -1"),
        ("min_eval_positives", 2.5, "min_eval_positives must be a whole number"),
        ("presplit", "yes", "presplit must be True or False"),
        ("pipeline_name", "CFPB pipeline", "lowercase letters, digits and hyphens"),
        ("schema_file", "/no/such/schema.pbtxt", "schema_file '/no/such/schema.pbtxt' does not exist"),
    ],
)
def test_impossible_settings_are_named_when_made(setting, value, message):
    with pytest.raises(ValueError, match=message):
        PipelineSettings(**{setting: value})


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("data_root", "/no/such/folder", "data_root '/no/such/folder' is not a folder"),
        ("module_file", "/no/such/module.py", "module_file '/no/such/module.py' does not exist"),
    ],
)
def test_impossible_paths_are_named(tmp_path, path, value, message):
    with pytest.raises(ValueError, match=message):
        _pipeline(tmp_path, **{path: value})


def test_data_root_without_csv_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no .csv file"):
        _pipeline(tmp_path, data_root=str(tmp_path / "empty"))


def test_remote_data_root_is_not_checked_locally(tmp_path):
    pipeline = _pipeline(tmp_path, data_root="gs://bucket/data")
    assert pipeline.components[0].exec_properties["input_base"] == "gs://bucket/data"


def test_local_runner_entry_point_rejects_bad_arguments(capsys):
    from pipeline_tools import local_runner

    with pytest.raises(SystemExit):
        local_runner.main(["--train-steps", "0"])
    assert "train_steps must be a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        local_runner.main(["--data-gate", "maybe"])
    assert "expected true or false, got 'maybe'" in capsys.readouterr().err


def test_local_runner_flags_are_the_settings(tmp_path):
    from pipeline_tools import local_runner

    _, arguments = local_runner.parse_arguments(
        ["--output-root", str(tmp_path), "--train-steps", "7", "--data-gate", "false", "--enable-cache", "false"]
    )
    pipeline = local_runner.build(arguments)
    c = {component.id: component for component in pipeline.components}
    assert "DataValidationGate" not in c and not pipeline.enable_cache
    assert _proto(c["Trainer"], "train_args", trainer_pb2.TrainArgs()).num_steps == 7
    assert pipeline.metadata_connection_config.sqlite.filename_uri == str(tmp_path / "metadata.sqlite")


def test_metadata_config_is_passed_through(tmp_path):
    config = sqlite_metadata_connection_config(str(tmp_path / "m.sqlite"))
    pipeline = _pipeline(tmp_path, metadata_connection_config=config)
    assert pipeline.metadata_connection_config.sqlite.filename_uri.endswith("m.sqlite")


def test_presplit_data_keeps_its_own_train_and_eval(tmp_path):
    data = tmp_path / "data"
    for split in ("train", "eval"):
        (data / split).mkdir(parents=True)
        (data / split / "part.csv").write_text("a,consumer_disputed\nx,1\n")
    presplit = PipelineSettings(presplit=True)
    example_gen = _pipeline(tmp_path, presplit, data_root=str(data)).components[0]
    splits = _proto(example_gen, "input_config", example_gen_pb2.Input()).splits
    assert [(split.name, split.pattern) for split in splits] == [("train", "train/*"), ("eval", "eval/*")]
    assert not _proto(example_gen, "output_config", example_gen_pb2.Output()).split_config.splits
    (data / "eval" / "part.csv").unlink()
    with pytest.raises(ValueError, match="eval' holds no .csv file"):
        _pipeline(tmp_path, presplit, data_root=str(data))
    with pytest.raises(ValueError, match="train' is not a folder"):
        _pipeline(tmp_path, presplit, data_root=str(REPO_ROOT / "schema"))


def test_local_beam_options_make_tfx_package_nothing(monkeypatch):
    """Any Beam option without a packaging one makes TFX build an sdist of itself for remote workers
    (1.2 s and 49 MB of the temporary folder per Beam component); the local options must not."""
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.utils import dependency_utils

    from pipeline_tools.settings import LOCAL_BEAM_PIPELINE_ARGS

    def refuse():
        raise AssertionError("TFX built its ephemeral package for a local run")

    class BeamExecutor(BaseBeamExecutor):  # As StatisticsGen's, Transform's... executors start.
        def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
            pass

    monkeypatch.setattr(dependency_utils, "build_ephemeral_package", refuse)
    BeamExecutor(BaseBeamExecutor.Context(beam_pipeline_args=list(LOCAL_BEAM_PIPELINE_ARGS)))
    with pytest.raises(AssertionError, match="ephemeral package"):  # What a plain Beam option would do.
        BeamExecutor(BaseBeamExecutor.Context(beam_pipeline_args=["--direct_num_workers=1"]))
