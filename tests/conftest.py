"""Shared test setup: Keras 2 for tf.Transform, the quiet filters, the end-to-end fixtures (pytest.ini puts
the repository on sys.path)."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]

from pipeline_tools import quiet  # noqa: E402

# The same quiet as the notebooks' setup (TensorFlow's C++ errors only, the known Python lines
# dropped, a quiet wheel build): the notebook kernels that papermill starts inherit this
# environment, so what they print is what a reader sees.
quiet.install(import_tensorflow=False)  # The test modules import it when they need it.


# The fixtures that run a pipeline, a notebook or a blueprint end to end (tens of seconds to
# minutes each): every test that uses one is `slow`, as is every test marked so by hand.
# `make test-fast` (-m "not slow") runs the rest in about 20 s.
END_TO_END_FIXTURES = {
    "local_run",  # The local notebook under papermill (here).
    "vertex_dry_run",  # The Vertex notebook's dry run (here).
    "small_run",  # test_notebooks: the notebook on 200 rows.
    "gate_runs",  # test_data_validation: LocalDagRunner up to the gate, on faulty data.
    "transform_output",  # test_module: Transform on real rows.
    "three_runs",  # test_failure_cases: five LocalDagRunner runs on one output root.
    "later_runs",
    "scheduled_runs",  # test_vertex_run: the blueprint executed task by task, four times.
    "service_runs",  # test_vertex_services: the blueprint with every switch on, three times.
}
# Tests that share a session fixture run in one pytest-xdist worker (make test runs one per core,
# --dist loadgroup), so each notebook runs once; every other test stays with its module's tests,
# which share module fixtures.
SESSION_FIXTURE_GROUP = {"local_run": "executed-notebooks", "vertex_dry_run": "executed-notebooks"}


# The longest groups (minutes each, measured by `make test`), started first so that the two
# workers end together instead of one waiting for the last long group: pytest-xdist hands out the
# groups in the order of the items.
LONGEST_FIRST = ("test_vertex_services", "executed-notebooks", "test_vertex_run", "test_failure_cases")


@pytest.hookimpl(tryfirst=True)  # Before pytest-xdist reads the groups.
def pytest_collection_modifyitems(items):
    groups = {}
    for item in items:
        if END_TO_END_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
        group = next((SESSION_FIXTURE_GROUP[name] for name in item.fixturenames if name in SESSION_FIXTURE_GROUP), None)
        groups[item] = group or item.module.__name__
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    rank = {group: position for position, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(groups[item], len(rank)))  # Stable: the rest keep their order.


LOCAL_NOTEBOOK = REPO_ROOT / "notebooks" / "local" / "tfx_pipeline_interactive.ipynb"
VERTEX_NOTEBOOK = REPO_ROOT / "notebooks" / "vertex_ai" / "tfx_pipeline_vertex_ai.ipynb"


def execute_notebook(notebook, executed_dir, **parameters):
    """Runs `notebook` with papermill into executed_dir and returns the executed notebook's path."""
    import papermill

    executed = executed_dir / notebook.name
    papermill.execute_notebook(
        str(notebook), str(executed), parameters=parameters, cwd=str(notebook.parent), progress_bar=False
    )
    return executed


@pytest.fixture(scope="session")
def local_run(tmp_path_factory):
    """(output root, executed notebook) of the local notebook executed with its defaults but for fewer
    eval steps in the Trainer's curves (shared by the notebook tests and the browser test)."""
    output_dir = tmp_path_factory.mktemp("local_notebook")
    executed = execute_notebook(
        LOCAL_NOTEBOOK, output_dir, output_root=str(output_dir / "run"), eval_steps=10, num_examples_to_score=3
    )
    return output_dir / "run", executed


@pytest.fixture(scope="session")
def vertex_dry_run(tmp_path_factory):
    """(output folder, executed notebook) of the Vertex notebook's dry run with every switch on:
    placeholders left, so nothing leaves the machine, and everything is compiled and printed."""
    folder = tmp_path_factory.mktemp("vertex_notebook")
    executed = execute_notebook(
        VERTEX_NOTEBOOK,
        folder,
        output_dir=str(folder / "vertex"),
        use_vertex_training=True,
        accelerator_type="NVIDIA_TESLA_T4",
        accelerator_count=1,
        use_vertex_endpoint=True,
        use_dataflow=True,
        train_steps=1000,
    )
    return folder / "vertex", executed


def staged_data_local(folder, **settings):
    """(PipelineSettings, data root) of data_local's monthly spans staged in folder, as the runners
    and notebooks stage them (pipeline_tools.spans.input_for): all of them unless spans= says which."""
    from pipeline_tools import spans
    from pipeline_tools.settings import DATA_ROOT, PipelineSettings

    return spans.input_for(PipelineSettings(**settings), DATA_ROOT, str(folder))
