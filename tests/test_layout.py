"""The shape of the code: what TFX packs with module.py, one definition of the columns and of the stacks,
no local run importing Google Cloud's Vertex AI client, no module reaching into another's private names."""

import ast
import os
import re
import subprocess
import sys
import zipfile

import pytest

import module
from conftest import REPO_ROOT
from pipeline_tools import columns, preflight, schema, spans

PYTHON_FILES = sorted(
    path
    for path in REPO_ROOT.rglob("*.py")
    if not any(part.startswith(".") or part in ("outputs", "__pycache__") for part in path.relative_to(REPO_ROOT).parts)
)


def test_the_user_code_wheel_holds_only_the_model_code(tmp_path):
    """TFX packs every .py beside module.py into the wheel whose hash keys Transform's and Trainer's cache."""
    from tfx.components.util import udf_utils

    wheel, _ = udf_utils.package_user_module_file("Transform", str(REPO_ROOT / "module.py"), str(tmp_path))
    packed = sorted(name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py"))
    assert packed == ["base_pipeline.py", "module.py"]


@pytest.mark.slow
def test_module_stands_alone_as_on_vertex_ai(tmp_path):
    """On Vertex AI module.py is uploaded and loaded by itself in TFX's image: it may import no repository file."""
    (tmp_path / "module.py").write_text((REPO_ROOT / "module.py").read_text())
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", "import module; print(sorted(module.CATEGORICAL_KEYS)[0], callable(module.run_fn))"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["company", "True"]


def test_module_names_the_same_columns_as_pipeline_tools():
    assert module.LABEL_KEY == columns.LABEL
    assert module.NARRATIVE_KEY == columns.NARRATIVE
    assert module.ZIP_CODE_KEY == columns.ZIP_CODE
    assert tuple(module.CATEGORICAL_KEYS) == columns.CATEGORICAL
    assert sorted([*module.CATEGORICAL_KEYS, module.NARRATIVE_KEY, module.ZIP_CODE_KEY, module.LABEL_KEY]) == sorted(
        columns.ALL
    )


def test_the_curated_schema_and_the_data_have_the_columns():
    assert sorted(feature.name for feature in schema.read_curated().feature) == sorted(columns.ALL)
    for path in spans.csv_paths(str(REPO_ROOT / "data_local")):
        header = open(path, encoding="utf-8").read().split("\n", 1)[0]
        assert tuple(header.split(",")) == columns.ALL, path


def test_the_stacks_are_listed_once_and_requirements_pin_them():
    requirements = (REPO_ROOT / "requirements.txt").read_text()
    pinned = sorted(
        line.split("==")[1].split(";")[0].strip() for line in requirements.splitlines() if line.startswith("tfx")
    )
    assert pinned == sorted(stack.tfx for stack in preflight.STACKS)
    setup = (REPO_ROOT / "scripts" / "setup_env.sh").read_text()
    assert "pipeline_tools.preflight" in setup
    for stack in preflight.STACKS:
        assert stack.tfx not in setup, f"scripts/setup_env.sh names tfx {stack.tfx} itself"


@pytest.mark.slow
def test_a_local_run_imports_no_vertex_ai_client():
    """The local path (pipeline, runner, the executors it starts, module.py) leaves Google Cloud's extensions alone."""
    code = """
import sys
import base_pipeline, module
from pipeline_tools import local_runner, views, serving
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.components.transform.executor import Executor as T
from tfx.components.trainer.executor import GenericExecutor
from tfx.components.evaluator.executor import Executor as E
from tfx.components.pusher.executor import Executor as P
_, arguments = local_runner.parse_arguments(["--output-root", sys.argv[1]])
local_runner.build(arguments)
# tfx.extensions itself is an empty package that TFX's artifact types import as an install check
# (standard_artifacts._TfxArtifact); what must stay out is what is inside it, and Vertex AI's client.
vertex = ("google.cloud.aiplatform", "tfx.extensions.", "tfx.v1.extensions")
print(sorted(name for name in sys.modules if name.startswith(vertex)))
"""
    result = subprocess.run(
        [sys.executable, "-c", code, "/tmp/unused-output"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _repository_modules(tree: ast.AST) -> set[str]:
    """Names under which a file imported one of the repository's modules."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("module", "base_pipeline", "pipeline_tools"):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pipeline_tools":
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def test_no_file_reaches_into_another_modules_private_names():
    found = []
    for path in PYTHON_FILES:
        tree = ast.parse(path.read_text())
        modules = _repository_modules(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not found


@pytest.mark.parametrize("limit", [60])
def test_no_public_function_of_the_pipeline_code_is_longer_than_the_limit(limit):
    long = []
    for path in PYTHON_FILES:
        if path.parts[-2] == "tests":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    long.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not long


def _readme_commands() -> list[str]:
    """The modules and scripts the README tells a reader to run: `python -m X`, `python3 -m X`, `python X.py`."""
    readme = (REPO_ROOT / "README.md").read_text()
    modules = re.findall(r"python3? -m ((?:pipeline_tools|benchmarks)\b[\w.]*)", readme)
    scripts = re.findall(r"python3? (benchmarks/[\w/]+\.py)", readme)
    return sorted(set(modules)) + sorted(set(scripts))


@pytest.mark.slow
@pytest.mark.parametrize("command", _readme_commands())
def test_every_command_in_the_readme_answers_help(command):
    """The first thing a reader types; argparse used to crash on a literal % in a help text."""
    argv = ["-m", command] if not command.endswith(".py") else [command]
    result = subprocess.run([sys.executable, *argv, "--help"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:")


def test_the_components_import_nothing_of_the_repository_but_themselves():
    """The pipeline image copies pipeline_tools/components/ only (its Dockerfile): anything else they
    imported would be missing there, and editing it would not change the image's tag."""
    found = []
    for path in sorted((REPO_ROOT / "pipeline_tools" / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in ("module", "base_pipeline") or (
                    top == "pipeline_tools" and not name.startswith("pipeline_tools.components")
                ):
                    found.append(f"{path.name}: {name}")
    assert not found


def test_the_notebooks_build_no_component_of_their_own():
    """Each component is built by base_pipeline.py (which the notebook shows): no notebook cell calls a
    TFX component class, TFX's or the repository's, so the notebook cannot drift from the pipeline."""
    import importlib
    import inspect
    import json

    from tfx.dsl.components.base.base_node import BaseNode
    from tfx.v1 import components, dsl

    modules = [components, dsl] + [
        importlib.import_module(f"pipeline_tools.components.{path.stem}")
        for path in sorted((REPO_ROOT / "pipeline_tools" / "components").glob("*.py"))
        if path.stem not in ("__init__", "entrypoint")  # The container's entry point builds nothing.
    ]
    classes = {
        name
        for found in modules
        for name, value in vars(found).items()
        if inspect.isclass(value) and issubclass(value, BaseNode)
    }
    assert {"Transform", "Resolver", "DataValidationGate", "ModelGate"} <= classes
    for path in sorted((REPO_ROOT / "notebooks").glob("*/*.ipynb")):
        cells = [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]
        source = "\n".join("".join(cell["source"]) for cell in cells)
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        called = {
            node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
        }
        assert not called & classes, f"{path.name} builds {sorted(called & classes)} itself"
