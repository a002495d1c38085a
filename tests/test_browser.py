"""The executed notebooks in JupyterLab 4, in headless Chromium, as a reader sees them.

JupyterLab runs from this environment on 127.0.0.1; the local notebook is the one papermill
executed (conftest's `local_run`), the Vertex one its dry run (`vertex_dry_run`). For each code
cell the page must show every output the file holds, with a size; every table and chart must be
visible; no output may be an error or an empty area (a widget that could not draw). Screenshots
go to the test's output folder, and also to $SAVE_SCREENSHOTS_TO when it is set (the README's
picture: `SAVE_SCREENSHOTS_TO=docs/images bash scripts/run_tests.sh tests/test_browser.py`).

Skips with the reason when Chromium or Playwright is missing (`.ci/run` installs Chromium).
"""

import os
import re
import shutil
import signal

import jupyterlab_page as lab
import pytest

ERROR = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception)\b", re.MULTILINE)
pytestmark = pytest.mark.skipif(lab.why_not() is not None, reason=f"browser test: {lab.why_not()}")


def _check(cells, expected_counts, notebook_name):
    """The assertions shared by both notebooks; returns the number of tables and images seen."""
    assert len(cells) == len(expected_counts), f"{notebook_name}: {len(cells)} code cells drawn"
    tables = images = 0
    for cell, expected in zip(cells, expected_counts, strict=True):
        where = f"{notebook_name} cell {cell['prompt']} {cell['source'][:60]!r}"
        assert len(cell["outputs"]) == expected, f"{where}: {len(cell['outputs'])} outputs drawn, {expected} saved"
        for output in cell["outputs"]:
            assert output["height"] > 0 and output["width"] > 0, f"{where}: an empty output area"
            assert output["overflow"] <= 2, f"{where}: runs {output['overflow']:.0f} px past the page's right edge"
            assert not ERROR.search(output["text"]), f"{where}: an error: {output['text'][:300]}"
            for width, height in output["tables"]:
                assert width > 0 and height > 0, f"{where}: a table without size"
            for natural_width, height in output["images"]:
                assert natural_width > 0 and height > 100, f"{where}: an image that did not draw"
            tables += len(output["tables"])
            images += len(output["images"])
    return tables, images


def _save(page, folder, name):
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def _publish(paths):
    from pathlib import Path

    target = os.environ.get("SAVE_SCREENSHOTS_TO")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy(path, Path(target) / path.name)


def test_local_notebook_reads_well_in_jupyterlab(local_run, screenshots):
    _, executed = local_run
    with lab.jupyterlab(executed.parent, screenshots / "jupyterlab-local.log") as url, lab.browser() as page:
        cells = lab.open_notebook(page, url.format(executed.name))
        tables, images = _check(cells, lab.expected_outputs(executed), executed.name)
        shots = [_save(page, screenshots, "jupyterlab-local-top")]
        # As a reader scrolls: the pipeline's picture, a component's code, the curves, the AUC with its
        # interval, the baselines, the cached rerun and the lineage.
        for name, text, part in (
            ("diagram", "diagram.show", "img"),
            ("trainer-code", "show_code(base_pipeline.trainer", ".jp-RenderedMarkdown"),
            ("training-curves", "plot_training_curves", "img"),
            ("auc-by-product", "plot_auc_by_slice", "img"),
            ("baselines", "comparison.round", "table"),
            ("cache", "the same pipeline again", "table"),
            ("lineage", "lineage.table", "table"),
        ):
            page.locator(".jp-CodeCell", has_text=text).first.locator(part).first.scroll_into_view_if_needed()
            shots.append(_save(page, screenshots, f"jupyterlab-local-{name}"))
    # The statistics, anomalies, schema comparison, transformed features, curves, slices, baselines, answers,
    # cache and lineage tables; the pipeline's picture, the training curves and the AUC by product.
    assert tables >= 10 and images == 3, (tables, images)
    _publish(shots)


def test_vertex_notebook_dry_run_reads_well_in_jupyterlab(vertex_dry_run, screenshots):
    _, executed = vertex_dry_run
    with lab.jupyterlab(executed.parent, screenshots / "jupyterlab-vertex.log") as url, lab.browser() as page:
        cells = lab.open_notebook(page, url.format(executed.name))
        _check(cells, lab.expected_outputs(executed), executed.name)
        stderr = [o for cell in cells for o in cell["outputs"] if o["mime"] == "application/vnd.jupyter.stderr"]
        assert stderr == []
        _publish([_save(page, screenshots, "jupyterlab-vertex-top")])


def test_tensorboard_magic_draws_in_jupyterlab(local_run, tmp_path, screenshots):
    """The notebook's hint, `%load_ext tensorboard` and `%tensorboard --logdir <model_run>`, run in
    JupyterLab from this environment: TensorBoard starts and its page draws inside the output."""
    import nbformat
    from tensorboard import manager

    run_dir, _ = local_run
    [model_run] = sorted((run_dir / "pipeline_root" / "Trainer" / "model_run").iterdir())[:1]
    port = lab.free_port()
    notebook = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
    )
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext tensorboard"),
        nbformat.v4.new_code_cell(f"%tensorboard --logdir {model_run} --port {port}"),
    ]
    nbformat.write(notebook, str(tmp_path / "tensorboard.ipynb"))
    try:
        with lab.jupyterlab(tmp_path, screenshots / "jupyterlab-tensorboard.log") as url, lab.browser() as page:
            lab.open_notebook(page, url.format("tensorboard.ipynb"))
            page.locator(".jp-Notebook").first.click()
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_text("Run All Cells", exact=True).click()
            page.wait_for_selector(f"iframe[src*='{port}']", timeout=120_000)
            frame = next(frame for frame in page.frames if f":{port}" in frame.url)
            frame.wait_for_selector("text=epoch_auc", timeout=120_000)  # The Trainer's curves, by tag.
            _publish([_save(page, screenshots, "jupyterlab-tensorboard")])
    finally:
        for info in manager.get_all():
            if info.port == port:
                os.kill(info.pid, signal.SIGTERM)
