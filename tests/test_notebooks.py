"""The notebooks as users run them: papermill with other parameters, and nbval on the committed files."""

import csv
import glob
import math
import os
import subprocess
import sys

import papermill
import pytest
import tensorflow_data_validation as tfdv
import tfx

from conftest import LOCAL_NOTEBOOK, REPO_ROOT, VERTEX_NOTEBOOK, execute_notebook
from pipeline_tools import lineage, serving, views
from pipeline_tools.components.model_gate import Verdict

DATA_ROOT = REPO_ROOT / "data_local"  # Monthly spans: span-201503/complaints.csv ...


def _only(pattern):
    [path] = glob.glob(pattern)
    return path


def _first(pattern):
    """The artifact folder of the notebook's first (interactive) run: the lowest execution id."""
    return min(glob.glob(pattern), key=lambda path: int(path.rstrip("/").split("/")[-1]))


def test_schema_covers_every_column(local_run):
    run_dir, _ = local_run
    schema = tfdv.load_schema_text(
        _only(str(run_dir / "pipeline_root" / "SchemaGen" / "schema" / "*" / "schema.pbtxt"))
    )
    header = list(serving.read_rows(str(DATA_ROOT), 1)[0])
    assert sorted(feature.name for feature in schema.feature) == sorted(header)


def test_model_was_blessed_on_its_evidence_and_pushed(local_run):
    run_dir, _ = local_run
    blessing = _first(str(run_dir / "pipeline_root" / "ModelGate" / "blessing" / "*"))
    assert os.path.exists(blessing + "/BLESSED")
    verdict = Verdict.read(blessing)
    # data_local's first run: some 900 eval complaints, 200 disputed, an AUC interval clear of chance.
    assert verdict.evidence.examples > 800 and verdict.evidence.positives > 150
    assert 0.5 < verdict.evidence.auc_interval[0] < verdict.auc < verdict.evidence.auc_interval[1]
    # The first run's model, and the second run's if it earned it (test_the_second_run... checks which).
    assert 1 <= len(glob.glob(str(run_dir / "serving_model" / "*" / "saved_model.pb"))) <= 2


def test_pushed_model_answers_raw_examples_with_probabilities(local_run):
    run_dir, _ = local_run
    schema = tfdv.load_schema_text(
        _only(str(run_dir / "pipeline_root" / "SchemaGen" / "schema" / "*" / "schema.pbtxt"))
    )
    rows = serving.read_rows(str(DATA_ROOT), 64)
    rows.append(dict(rows[0], product="A product never seen", company="", zip_code="XXXXX"))
    model_dir = serving.latest_model_dir(str(run_dir / "serving_model"))
    newest = max(glob.glob(str(run_dir / "serving_model" / "*")), key=lambda path: int(os.path.basename(path)))
    assert model_dir == newest and os.path.isfile(os.path.join(model_dir, "saved_model.pb"))
    probabilities = serving.predict(serving.load_signature(model_dir), rows, schema)
    assert probabilities.shape == (len(rows),)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert probabilities.std() > 0  # The answer depends on the complaint.


def test_executed_notebook_scored_raw_rows_and_shows_every_artifact(local_run):
    import nbformat

    _, executed = local_run
    notebook = nbformat.read(str(executed), as_version=4)
    text = _outputs_text(executed)
    assert not [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    for expected in (
        "train: 1",
        "eval: 9",
        "vocabulary sizes",
        "blessed: AUC ",
        "(95% interval ",
        "pushed: version ",
        "P(dispute)",
        "TF-IDF + logistic regression",
        "curate(this run's inferred schema) == schema/schema.pbtxt: True",
        "anomalies against the curated schema: none, in either split",
        "drift against the reference statistics (no model was served yet):",
        "The gate lets this data through: no anomalies, no drift beyond the thresholds.",
        "span-201511: months [201503, 201504, 201505, 201506, 201507, 201508, 201509, 201510, 201511]",
        "second run: spans 201503-201512",
        "drift against the data the served model learned from:",
        "the served model scores AUC ",
        "not pushed again: the candidate is the model being served",  # The cached rerun (section 14).
        "written by: pipeline_tools.components.training_statistics.AttachTrainingStatistics",  # Raw ML Metadata.
    ):
        assert expected in text, expected


def test_the_notebook_shows_the_code_that_builds_each_component_read_from_the_files_that_run(local_run):
    """Every base_pipeline function the notebook calls is shown by show_code, and module.py's functions too."""
    import inspect
    import re

    import nbformat

    import base_pipeline
    import module

    _, executed = local_run
    notebook = nbformat.read(str(executed), as_version=4)
    shown = "\n".join(
        output["data"]["text/markdown"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "text/markdown" in output.get("data", {})
    )
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    called = set(re.findall(r"base_pipeline\.(\w+)\(", sources)) - {"create_components", "create_pipeline"}
    assert called >= {"example_gen", "transform", "trainer", "evaluator", "model_gate", "pusher", "data_gate"}
    for function in [*(getattr(base_pipeline, name) for name in called), base_pipeline.eval_config]:
        assert inspect.getsource(function).rstrip() in shown, function.__name__
    for function in (module.preprocessing_fn, module.run_fn, module.build_keras_model, module.make_serving_fn):
        assert inspect.getsource(function).rstrip() in shown, function.__name__


def test_the_second_run_adds_the_next_span_and_is_judged_against_the_first(local_run):
    """Section 9 and 10: LocalDagRunner on the interactive run's ML Metadata, and the lineage of both models."""
    run_dir, executed = local_run
    first, second, rerun = lineage.models(str(run_dir / "pipeline_root" / "metadata.sqlite"))
    assert first.months == tuple(range(201503, 201512)) and second.months == tuple(range(201503, 201513))
    assert (first.span, second.span) == (201511, 201512)
    assert first.gate == second.gate == "passed"  # The first run's data met the gate in section 12.
    assert second.rows["train"] > first.rows["train"] and second.rows["eval"] > first.rows["eval"]
    # The second Evaluator scored the first model too, on the second run's eval examples.
    assert first.verdict.baseline_auc is None and second.verdict.baseline_auc is not None
    assert second.verdict.evidence.change_interval is not None
    # Section 14 ran the second run's pipeline again: the same model, judged again, not pushed again.
    assert rerun.model_uri == second.model_uri and not rerun.verdict.blessed and rerun.pushed_version is None
    assert rerun.verdict.reasons[0].startswith("not pushed again: the candidate is the model being served")
    assert first.pushed_version is not None  # The served model the second run's Resolver found.
    assert (second.pushed_version is not None) == second.verdict.blessed
    versions = serving.pushed_versions(str(run_dir / "serving_model"))
    assert versions == sorted(v for v in (first.pushed_version, second.pushed_version) if v)
    text = _outputs_text(executed)
    assert "201503-201511 (9 months)" in text and "201503-201512 (10 months)" in text  # The lineage table.
    report = (run_dir / "outcome.txt").read_text()
    assert report.startswith("first run, spans 201503-201511:\n") and "\n\nsecond run, spans 201503-201512:\n" in report
    assert second.verdict.evidence.compared() in report


def test_views_read_the_notebook_run_artifacts(local_run):
    """pipeline_tools/views.py on the real artifacts of the executed notebook's run."""
    import io

    import tensorflow_model_analysis as tfma

    import module

    run_dir, _ = local_run
    root = run_dir / "pipeline_root"
    header = list(serving.read_rows(str(DATA_ROOT), 1)[0])
    statistics = views.statistics_table(_first(str(root / "StatisticsGen" / "statistics" / "*")), "train")
    assert sorted(statistics.index) == sorted(header)
    assert statistics.loc["consumer_disputed", "type"] == "number"
    assert 0.1 < statistics.loc["consumer_disputed", "mean"] < 0.4  # About 22% disputed.
    assert ((statistics["present"] + statistics["missing"]) == statistics.attrs["examples"]).all()
    assert views.anomalies_table(_first(str(root / "ExampleValidator" / "anomalies" / "*"))).empty

    curves = views.training_curves(_first(str(root / "Trainer" / "model_run" / "*")))
    record = curves.attrs["record"]
    # Ten passes over the ~1,900 training rows (two thirds of 2,800, by a hash that differs between TFX
    # versions: 1,877 on stack A) are some 300 steps of 64 rows, within train_steps: one measurement a pass.
    per_pass = math.ceil(record["train_examples"] / module.TRAIN_BATCH_SIZE)
    assert 1800 < record["train_examples"] < 2000 and module.PASSES == 10
    assert (record["limited_by"], record["trained_steps"], record["measurement_interval"]) == (
        "budget",
        10 * per_pass,
        per_pass,
    )
    assert curves.index.name == "step" and list(curves.index) == list(range(per_pass, 10 * per_pass + 1, per_pass))
    assert {("train", "loss"), ("validation", "loss"), ("train", "auc"), ("validation", "auc")} <= set(curves.columns)
    figure = views.plot_training_curves(curves)
    assert [len(axes.lines) for axes in figure.axes] == [3, 3]  # Train, eval, and where training stopped.
    assert figure.axes[0].lines[2].get_xdata()[0] == 10 * per_pass
    assert figure._suptitle.get_text() == record["reason"]

    metrics = views.sliced_metrics(tfma.load_eval_result(_first(str(root / "Evaluator" / "evaluation" / "*"))))
    assert metrics.index[0] == "overall"
    products = metrics.drop(index="overall")
    assert all(name.startswith("product = ") for name in products.index)
    assert products["example_count"].sum() == metrics.loc["overall", "example_count"]
    assert products["disputed"].sum() == metrics.loc["overall", "disputed"]
    assert 0.5 <= metrics.loc["overall", "auc_low"] < metrics.loc["overall", "auc"] < metrics.loc["overall", "auc_high"]
    # Small slices carry wide intervals: the smaller the slice, the wider (for the same AUC, roughly).
    widths = (products["auc_high"] - products["auc_low"]).where(products["disputed"] > 0)
    assert widths.max() > 2 * (metrics.loc["overall", "auc_high"] - metrics.loc["overall", "auc_low"])
    figure = views.plot_auc_by_slice(metrics)
    drawn = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert sorted(drawn) == sorted(name.split(" = ", 1)[1] for name in products[products["disputed"] > 0].index)
    large = views.plot_auc_by_slice(metrics, min_examples=20)
    enough = (products["example_count"] >= 20) & (products["disputed"] > 0)
    assert len(large.axes[0].get_yticklabels()) == enough.sum()
    png = io.BytesIO()
    figure.savefig(png, format="png")
    assert png.getvalue().startswith(b"\x89PNG")


def test_executed_notebook_shows_tables_and_charts_without_widgets(local_run):
    """What JupyterLab and GitHub render without any widget: HTML tables and PNG charts."""
    import base64

    import nbformat

    _, executed = local_run
    notebook = nbformat.read(str(executed), as_version=4)
    outputs = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                for mime in output.get("data", {}):
                    outputs.setdefault(mime, []).append((cell.source, output["data"][mime]))
    pngs = outputs.get("image/png", [])
    assert any("plot_training_curves" in source for source, _ in pngs)
    assert any("plot_auc_by_slice" in source for source, _ in pngs)
    assert any("diagram.show" in source for source, _ in pngs)  # The pipeline's picture.
    for _, data in pngs:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    tables = [source for source, html in outputs.get("text/html", []) if "<table" in html]
    for shown in (
        "views.statistics_table",
        "views.anomalies_table",
        "metrics_by_slice.round",
        "curves.round",
        "comparison.round",
        "views.raw_and_transformed",
        "lineage.table",
    ):
        assert any(shown in source for source in tables), shown


def _sample(folder, count, **changes):
    """The first `count` rows of data_local (with changes to every fifth row) in folder/complaints.csv."""
    rows = serving.read_rows(str(DATA_ROOT), count)
    rows = [dict(row, **changes) if index % 5 == 0 else row for index, row in enumerate(rows)]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "complaints.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return str(folder)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The notebook, defaults and all, on 200 rows: about 130 to train and 70 to evaluate."""
    folder = tmp_path_factory.mktemp("small")
    executed = execute_notebook(
        LOCAL_NOTEBOOK, folder, data_root=_sample(folder / "data", 200), output_root=str(folder / "run")
    )
    return folder / "run", executed


def test_a_small_sample_trains_ten_passes_and_ends_with_a_clear_outcome(small_run):
    run_dir, executed = small_run
    text = _outputs_text(executed)  # No error output anywhere (checked there).
    [run_dir_of_trainer] = glob.glob(str(run_dir / "pipeline_root" / "Trainer" / "model_run" / "*"))
    record = views.training_record(run_dir_of_trainer)
    # 500 steps would be some 170 passes over the training rows: the budget is 10, one measurement each.
    steps_per_pass = -(-record["train_examples"] // 64)
    assert record["limited_by"] == "budget" and 100 < record["train_examples"] < 170
    assert (record["trained_steps"], record["measurement_interval"]) == (10 * steps_per_pass, steps_per_pass)
    assert record["reason"] in text
    outcome_text = (run_dir / "outcome.txt").read_text()
    assert outcome_text in text.replace("\r", "")
    # Some 70 eval complaints, 15 disputed: too few to tell any model from chance, whatever its AUC.
    assert outcome_text.startswith("first run:\nNOT blessed: AUC ") or outcome_text.startswith("NOT blessed: AUC ")
    assert "  - too few examples to tell this model from chance: " in outcome_text and "What to try" in outcome_text
    assert not (run_dir / "serving_model").exists() and "No model has been pushed to " in text


@pytest.mark.slow
def test_not_blessed_is_an_outcome_and_fails_the_run_only_when_asked(tmp_path):
    """An AUC bar no model reaches: the notebook explains to its last cell, then fails as asked."""
    with pytest.raises(papermill.PapermillExecutionError) as error:
        execute_notebook(
            LOCAL_NOTEBOOK,
            tmp_path,
            data_root=_sample(tmp_path / "data", 200),
            output_root=str(tmp_path / "run"),
            min_eval_auc=0.99,
            fail_if_not_blessed=True,
        )
    assert error.value.ename == "NotBlessedError"
    import nbformat

    cells = [cell for cell in nbformat.read(str(tmp_path / LOCAL_NOTEBOOK.name), 4).cells if cell.cell_type == "code"]
    failed = [index for index, cell in enumerate(cells) if any(o.output_type == "error" for o in cell.outputs)]
    assert failed == [len(cells) - 1]  # Only the last cell, the one that turns the outcome into a failure.
    text = "\n".join(o.get("text", "") for cell in cells for o in cell.outputs)
    assert "NOT blessed: AUC " in text and "below min_eval_auc 0.990" in text and "What to try" in text
    assert "not pushed: " in text and "No model has been pushed to " in text


@pytest.mark.slow
def test_data_breaking_the_curated_schema_stops_the_notebook_before_transform(tmp_path):
    """Labels "Yes" and 2 pass the schema pass 1 infers, but no model can learn from them: the notebook stops in
    section 4, before Transform, naming the label (pass 2's curated schema and gate refuse them too)."""
    data = _sample(tmp_path / "data", 300, consumer_disputed="Yes")
    rows = (tmp_path / "data" / "complaints.csv").read_text().splitlines()
    rows[2] = rows[2][: rows[2].rindex(",")] + ",2"  # A label of 2 as well.
    (tmp_path / "data" / "complaints.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(papermill.PapermillExecutionError) as error:
        execute_notebook(LOCAL_NOTEBOOK, tmp_path, data_root=data, output_root=str(tmp_path / "run"))
    message = str(error.value)
    assert error.value.ename == "DataValidationError"
    assert "This data cannot train module.py's model:" in message
    assert "consumer_disputed is not 0 or 1 in every row (SchemaGen found BYTES values)" in message
    assert "-p stop_on_data_problems False" in message
    root = tmp_path / "run" / "pipeline_root"
    assert (root / "ExampleValidator").is_dir() and not (root / "Transform").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "parameter, value, message",
    [
        ("train_steps", -1, "train_steps must be a positive integer, got -1"),
        ("data_root", "/nonexistent/cfpb", "data_root '/nonexistent/cfpb' is not a folder"),
    ],
)
def test_impossible_parameter_stops_right_after_the_parameters_cell(tmp_path, parameter, value, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        execute_notebook(LOCAL_NOTEBOOK, tmp_path, output_root=str(tmp_path / "run"), **{parameter: value})
    assert message in str(error.value)
    import nbformat

    cells = nbformat.read(str(tmp_path / LOCAL_NOTEBOOK.name), as_version=4).cells
    parameters_at = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    failed_at = next(i for i, c in enumerate(cells) if any(o.output_type == "error" for o in c.get("outputs", [])))
    assert [c.cell_type for c in cells[parameters_at + 1 : failed_at]].count("code") <= 1  # The injected parameters.
    assert not (tmp_path / "run" / "pipeline_root").exists()


def _outputs_text(executed):
    """What a reader sees under the code cells, as text: a cell's printed lines joined as printed.

    A kernel may send one print() in several stream messages, so those are joined without a break.
    """
    import nbformat

    notebook = nbformat.read(str(executed), as_version=4)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            streams = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
            data = [str(output.get("data", {}).get("text/plain", "")) for output in cell.outputs]
            cells.append("\n".join([streams, *data]))
    return "\n".join(cells)


def _stderr_lines(executed):
    """The lines a notebook's code cells wrote to stderr, as a reader sees them, with their cell's number."""
    import nbformat

    notebook = nbformat.read(str(executed), as_version=4)
    return [
        f"[{number}] {line}"
        for number, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
        for line in output.text.splitlines()
    ]


def test_executed_local_notebook_is_quiet(local_run):
    """At most 5 lines of stderr in the whole executed notebook (both runs): the known noise of
    TensorFlow, TFX, Beam and TFMA is silenced at its source (pipeline_tools/quiet.py)."""
    _, executed = local_run
    lines = _stderr_lines(executed)
    assert len(lines) <= 5, "\n".join(lines)


def test_vertex_notebook_dry_run_with_every_switch(vertex_dry_run):
    """The Vertex notebook under papermill, placeholders left: a dry run that compiles everything."""
    output_dir, executed = vertex_dry_run
    text = _outputs_text(executed)
    assert _stderr_lines(executed) == []  # Quiet: every line printed is for the reader.
    for expected in (
        "mode: DRY RUN (no network)",
        "credentials: AnonymousCredentials",
        "would upload:",
        "DataflowRunner",
        "ai_platform_training_args",
        "ai_platform_serving_args",
        "would submit PipelineJob",
        "dry run: not submitted",
        '"examples": {"b64": ',
        "--disk_size_gb=50",
        "endpoint's prediction container: us-central1-docker.pkg.dev/your-gcp-project/tfx-tutorial/tfx-serving:tf",
        "gcloud builds submit pipeline_tools/vertex/containers/serving",
        "gcloud builds submit . --config pipeline_tools/vertex/containers/pipeline/cloudbuild.yaml",
        "run_project_setup = True runs them",
        "gcloud iam service-accounts add-iam-policy-binding",
        "its id (for attach_to_run)",
        f"check it exists: gcloud container images describe gcr.io/tfx-oss-public/tfx:{tfx.__version__}",
    ):
        assert expected in text
    import json

    blueprint = json.loads((output_dir / "cfpb-consumer-disputes.json").read_text())
    tasks = blueprint["pipelineSpec"]["root"]["dag"]["tasks"]
    assert len(tasks) == 14  # The twelve components (the Resolver as two queries) and the endpoint's clean-up.
    assert tasks["UndeployIdleModels"]["dependentTasks"] == ["Pusher"]
    module_path = tasks["Transform"]["inputs"]["parameters"]["module_path"]["runtimeValue"]["constant"]
    assert module_path.startswith("module@gs://your-gcs-bucket/cfpb-consumer-disputes/pipeline_root/_wheels/")
    assert "DataValidationGate" in tasks["Transform"]["dependentTasks"]
    train_args = tasks["Trainer"]["inputs"]["parameters"]["train_args"]["runtimeValue"]["constant"]
    assert json.loads(train_args) == {"num_steps": 1000}


@pytest.mark.slow
def test_vertex_notebook_refuses_placeholders_for_a_real_run(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        execute_notebook(VERTEX_NOTEBOOK, tmp_path, output_dir=str(tmp_path / "vertex"), dry_run=False)
    assert "dry_run is off but project, bucket, service_account still hold placeholders" in str(error.value)
    assert not (tmp_path / "vertex").exists()


@pytest.mark.slow
def test_committed_notebooks_pass_nbval(tmp_path):
    """nbval re-runs each committed notebook with its own defaults and compares marked outputs."""
    notebooks = sorted(str(path) for path in (REPO_ROOT / "notebooks").glob("*/*.ipynb"))
    env = dict(os.environ, TMPDIR=str(tmp_path))  # The notebook's default output root is a temp folder.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", *notebooks],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
