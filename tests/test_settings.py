"""pipeline_tools/settings.py: one frozen object with every setting, its default defined once and checked when made."""

import argparse
import ast
import dataclasses
import json

import pytest

from conftest import REPO_ROOT
from pipeline_tools import settings
from pipeline_tools.settings import PipelineSettings
from pipeline_tools.vertex.settings import VertexSettings

NOTEBOOKS = {
    "local": REPO_ROOT / "notebooks" / "local" / "tfx_pipeline_interactive.ipynb",
    "vertex_ai": REPO_ROOT / "notebooks" / "vertex_ai" / "tfx_pipeline_vertex_ai.ipynb",
}


def parameters_cell(notebook) -> dict:
    """{name: value} of the literals in a notebook's cell tagged `parameters` (what papermill replaces)."""
    cells = json.loads(notebook.read_text())["cells"]
    [cell] = [cell for cell in cells if "parameters" in cell["metadata"].get("tags", [])]
    values = {}
    for statement in ast.parse("".join(cell["source"])).body:
        assert isinstance(statement, ast.Assign), f"{notebook.name}: the parameters cell holds only NAME = literal"
        values[statement.targets[0].id] = ast.literal_eval(statement.value)
    return values


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_each_parameters_cell_repeats_the_settings_defaults_exactly(notebook):
    """papermill needs literals in the cell; their values must be the ones defined in the settings."""
    values = parameters_cell(NOTEBOOKS[notebook])
    known = settings.defaults(PipelineSettings) | settings.defaults(VertexSettings)
    differing = {name: (value, known[name]) for name, value in values.items() if name in known and value != known[name]}
    assert not differing, f"{notebook}: parameter (cell value, settings default): {differing}"


def test_the_vertex_notebook_offers_every_vertex_setting():
    values = parameters_cell(NOTEBOOKS["vertex_ai"])
    assert set(settings.defaults(VertexSettings)) <= set(values)
    assert {"train_steps", "eval_steps", "min_eval_auc", "min_eval_examples", "enable_cache"} <= set(values)


def test_the_local_notebook_offers_the_training_and_blessing_settings():
    assert {"train_steps", "eval_steps", "min_eval_auc", "min_eval_examples", "min_eval_positives"} <= set(
        parameters_cell(NOTEBOOKS["local"])
    )


def test_settings_are_frozen_and_made_from_a_namespace():
    made = PipelineSettings.from_namespace({"train_steps": 42, "output_root": "/tmp/x", "data_root": "data_local"})
    assert made.train_steps == 42 and made.eval_steps == PipelineSettings().eval_steps
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.train_steps = 1
    vertex = VertexSettings.from_namespace({"project": "acme-ml-prod", "train_steps": 7, "use_dataflow": True})
    assert (vertex.project, vertex.use_dataflow, vertex.pipeline.train_steps) == ("acme-ml-prod", True, 7)
    assert vertex.gcs_root == "gs://your-gcs-bucket/cfpb-consumer-disputes"


def test_every_setting_is_a_flag_with_its_default_and_meaning():
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser, PipelineSettings)
    text = parser.format_help()
    for field in dataclasses.fields(PipelineSettings):
        if field.name == "vertex":
            continue
        assert "--" + field.name.replace("_", "-") in text, field.name
    arguments = parser.parse_args(["--train-steps", "9", "--data-gate", "false", "--min-eval-auc", "0.6"])
    made = settings.from_arguments(PipelineSettings, arguments)
    assert (made.train_steps, made.data_gate, made.min_eval_auc) == (9, False, 0.6)
    assert settings.from_arguments(PipelineSettings, parser.parse_args([])) == PipelineSettings()


def test_the_schema_settings_name_the_file_or_inference():
    assert PipelineSettings().schema_path == settings.CURATED_SCHEMA_FILE
    assert PipelineSettings(infer_schema=True).schema_path is None
    assert PipelineSettings(schema_file="gs://bucket/schema.pbtxt").schema_path == "gs://bucket/schema.pbtxt"
    with pytest.raises(ValueError, match="exclude each other"):
        PipelineSettings(infer_schema=True, schema_file=settings.CURATED_SCHEMA_FILE)


def test_vertex_services_need_what_they_use():
    needed = dict(region="us-central1", image="tfx", pipeline_image="ours", user_code="module@x.whl")
    with pytest.raises(ValueError, match="serving_image needs an endpoint"):
        settings.VertexServices(**needed, serving_image="tf2-cpu")
    with pytest.raises(ValueError, match="needs a region"):
        settings.VertexServices(**dict(needed, region=""))
    with pytest.raises(ValueError, match="is not 'module@<wheel>'"):
        settings.VertexServices(**dict(needed, user_code="module.py"))
