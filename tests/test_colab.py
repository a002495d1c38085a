"""What the notebooks' setup cell installs on Google Colab (pipeline_tools/colab.py, requirements-colab.txt)."""

import os
import subprocess
import sys
import types

import pytest

from conftest import REPO_ROOT
from pipeline_tools import colab, preflight

FREEZE = str(REPO_ROOT / "tests" / "colab_stand_in" / "pip-freeze.txt")
LOCK = str(REPO_ROOT / colab.COLAB_LOCK)
DEVELOPMENT_TOOLS = ("jupyterlab", "papermill", "nbval", "pytest", "pytest-xdist", "playwright", "ruff")


def test_the_colab_lock_pins_every_package_and_holds_colabs_kernel_stack():
    lines = [line for line in open(LOCK).read().splitlines() if line and not line.startswith((" ", "#"))]
    assert lines and all("==" in line for line in lines)
    locked, colabs = colab.pins(LOCK), colab.pins(FREEZE)
    [stack_b] = [stack for stack in preflight.STACKS if (3, 13) in stack.pythons]
    assert locked["tfx"] == stack_b.tfx and "kfp" in locked
    for name in colab.KERNEL_STACK:
        assert locked.get(name, colabs[name]) == colabs[name], name
    assert not set(DEVELOPMENT_TOOLS) & set(locked)


def test_a_package_colab_has_keeps_colabs_version_unless_tfx_needs_another():
    changed = colab.changes(colab.pins(FREEZE), LOCK)
    # What TFX 1.21 forces on Colab's Python 3.13 (README, Google Colab): TensorFlow, protobuf, pyarrow...
    assert {"tensorflow", "protobuf", "pyarrow", "tf-keras"} <= set(changed)
    assert not set(changed) & set(colab.KERNEL_STACK)
    for kept in ("matplotlib", "tqdm", "numpy", "pandas", "tensorboard"):  # Pinned locally, Colab's on Colab.
        assert kept not in changed, kept


def test_colabs_tensorflow_add_ons_move_with_tensorflow():
    """Native ops built for TensorFlow 2.20 do not load under 2.21 ("undefined symbol"): TFX imports
    tensorflow_text whenever it is installed, so Colab's add-ons must be of the lock's TensorFlow."""
    locked, colabs = colab.pins(LOCK), colab.pins(FREEZE)
    tensorflow = locked["tensorflow"].split(".")[:2]
    assert colabs["tensorflow"].split(".")[:2] != tensorflow  # TFX moves TensorFlow: the case this guards.
    for name in colab.FOLLOW_TENSORFLOW:
        assert name in colabs and locked[name].split(".")[:2] == tensorflow, (name, locked.get(name))


def test_the_lock_inputs_unpin_what_colab_has(tmp_path):
    colab.lock_inputs(str(REPO_ROOT / "requirements.txt"), FREEZE, str(tmp_path))
    wanted = (tmp_path / "colab.in").read_text().split()
    assert wanted == ["tfx==1.21.0", "kfp==2.16.1", "tensorboard", "matplotlib", "tqdm", "tensorflow-text", "ydf-tf"]
    kernel = dict(line.split("==") for line in (tmp_path / "colab-kernel.txt").read_text().split())
    assert kernel["ipykernel"] == "6.17.1" and kernel["tornado"] == "6.5.7" and set(kernel) == set(colab.KERNEL_STACK)


def test_the_setup_cell_says_what_tfx_changes_in_one_line():
    changed = {"pyarrow": ("23.0.1", "18.1.0"), "attrs": ("26.1.0", "23.2.0")}
    line = colab.changes_line({**changed, "tensorflow": ("2.20.0", "2.21.0"), "protobuf": ("5.29.6", "6.33.6")})
    assert line == (
        "TFX 1.21 changes 4 of Colab's packages: tensorflow 2.20.0 -> 2.21.0, protobuf 5.29.6 -> 6.33.6, "
        "pyarrow 23.0.1 -> 18.1.0 and 1 more (requirements-colab.txt); Colab's kernel keeps its versions."
    )
    assert colab.changes_line({}) == "Colab's own packages keep their versions."


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-colab.txt"])
def test_what_a_reader_installs_holds_no_development_tool(name):
    text = (REPO_ROOT / name).read_text()
    assert not [tool for tool in DEVELOPMENT_TOOLS if f"\n{tool}==" in f"\n{text}"]
    dev = (REPO_ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev and all(f"\n{tool}==" in f"\n{dev}" for tool in DEVELOPMENT_TOOLS)


def test_the_stand_ins_google_colab_lets_tfma_import_as_on_colab():
    """With google.colab imported, TFMA imports google.colab.output: the stub must hold it, or TFMA's
    own import fails half-way (it catches the ImportError) and the Evaluator stops. The stub's output
    draws nothing: calling it raises."""
    stub = REPO_ROOT / "tests" / "colab_stand_in" / "google_colab.py"
    script = "\n".join([
        f"exec(open({str(stub)!r}).read())",
        "import tensorflow_model_analysis as tfma",
        "print(tfma.default_eval_shared_model.__name__)",
        "from google.colab import output",
        "output.register_callback('name', print)",
    ])  # fmt: skip
    environment = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=environment
    )
    assert "Error importing" not in result.stderr
    assert result.stdout.split() == ["default_eval_shared_model"]
    assert "RuntimeError: google.colab.output: the Colab stand-in has no browser" in result.stderr


def test_a_package_installed_twice_counts_as_the_copy_python_imports(monkeypatch):
    """Colab's pip puts packaging in /usr/local beside the system's copy: the setup cell's count of what it
    changes compares the first on sys.path (the one pip and Python see), not the last."""
    import importlib.metadata

    from pipeline_tools import notebook

    def found(name, version):
        return types.SimpleNamespace(metadata={"Name": name}, version=version)

    copies = [
        found("packaging", "26.3"),
        found("Wheel", "0.48.0"),
        found("packaging", "25.0"),
        found("wheel", "0.46.1"),
    ]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(copies))
    assert notebook.installed_versions() == {"packaging": "26.3", "wheel": "0.48.0"}


def test_the_readme_quotes_the_colab_stand_ins_last_report():
    """README's Colab section quotes the summary of docs/colab_stand_in.md (make colab-stand-in) as made."""
    start, end = "<!-- colab stand-in summary -->", "<!-- /colab stand-in summary -->"

    def summary(path):
        text = path.read_text()
        assert text.count(start) == 1 and text.count(end) == 1, path
        return text[text.index(start) : text.index(end)]

    assert summary(REPO_ROOT / "README.md") == summary(REPO_ROOT / "docs" / "colab_stand_in.md")
