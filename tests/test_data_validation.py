"""Bad input: the curated schema, the CSV checks, and the data gate in a real pipeline run.

The pipeline cases run the real first five components (CsvExampleGen, StatisticsGen,
ImportSchemaGen, ExampleValidator, the gate) with LocalDagRunner on 300 real rows with faults
put in; each fault must stop the gate, and the message must name the feature and why.
"""

import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import tensorflow_data_validation as tfdv
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.metadata import sqlite_metadata_connection_config

import base_pipeline
from conftest import REPO_ROOT
from pipeline_tools import columns, csv_check, local_runner, schema, serving, spans, views
from pipeline_tools.components import artifacts, data_gate, vertex_steps
from pipeline_tools.settings import LOCAL_BEAM_PIPELINE_ARGS, REFERENCE_STATISTICS_FILE, PipelineSettings

DATA_ROOT = str(REPO_ROOT / "data_local")
MODULE_FILE = str(REPO_ROOT / "module.py")
SCHEMA_FILE = str(REPO_ROOT / "schema" / "schema.pbtxt")


def _real_rows(count=600):
    return serving.read_rows(DATA_ROOT, count)


def _write(path, rows, fields=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fields = fields or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)


# --- The curated schema ---------------------------------------------------------------------


@pytest.mark.slow
def test_committed_schema_is_the_curated_inference_of_the_data():
    assert artifacts.read_schema(SCHEMA_FILE) == schema.infer_and_curate(DATA_ROOT)
    assert schema.main(["--check"]) == 0


def test_the_reference_statistics_check_compares_what_the_gate_reads(tmp_path):
    """`schema --check` passes statistics that differ only where the gate does not look (another TFDV
    release may write them so), and names the count and distances of statistics of other data."""
    committed = artifacts.read_statistics(REFERENCE_STATISTICS_FILE)
    curated = schema.read_curated()
    assert [feature.path.step[0] for feature in committed.datasets[0].features] == schema.compared_features()
    assert schema.statistics_differences(committed, committed, curated) == []
    rewritten = type(committed)()
    rewritten.CopyFrom(committed)
    label = next(f for f in rewritten.datasets[0].features if f.path.step[0] == columns.LABEL)
    label.num_stats.std_dev += 1e-7  # Not what a comparator reads.
    assert rewritten != committed and schema.statistics_differences(committed, rewritten, curated) == []
    _write(str(tmp_path / "march" / "complaints.csv"), _real_rows(138))
    march = schema.reference_statistics(str(tmp_path / "march"))
    differences = schema.statistics_differences(committed, march, curated)
    assert differences[0] == "examples: 3101 committed, 138 made"
    assert any(line.startswith("product: L-infinity ") for line in differences)


def test_curated_schema_label_domain_environments_and_categories():
    curated = schema.read_curated()
    features = {feature.name: feature for feature in curated.feature}
    label = features[columns.LABEL]
    assert (label.int_domain.min, label.int_domain.max) == (0, 1)
    assert list(label.not_in_environment) == ["SERVING"]
    assert list(curated.default_environment) == ["TRAINING", "SERVING"]
    for name in columns.COMPLETE:
        assert features[name].presence.min_fraction == 1.0, name
    for name in ("sub_product", "sub_issue", "state", "zip_code"):
        assert features[name].presence.min_fraction == 0.0 and features[name].presence.min_count == 1, name
    assert list(features["timely_response"].string_domain.value) == ["No", "Yes"]
    assert len(features["company_response"].string_domain.value) == 8
    for name in ("product", "issue", "company", "state"):  # Open: new values go to OOV buckets.
        assert not features[name].HasField("domain_info"), name
    assert features["product"].drift_comparator.infinity_norm.threshold == 0.25


def test_curation_refuses_a_schema_of_other_columns():
    inferred = schema.read_curated()
    del inferred.feature[0]
    with pytest.raises(ValueError, match="expected"):
        schema.curate(inferred)


def test_serving_requests_validate_without_the_label(tmp_path):
    rows = _real_rows(50)
    curated = schema.read_curated()
    _write(str(tmp_path / "serving.csv"), [{k: v for k, v in row.items() if k != columns.LABEL} for row in rows])
    statistics = tfdv.generate_statistics_from_csv(str(tmp_path / "serving.csv"))
    assert not tfdv.validate_statistics(statistics, curated, environment="SERVING").anomaly_info
    missing_label = tfdv.validate_statistics(statistics, curated, environment="TRAINING").anomaly_info
    assert list(missing_label) == [columns.LABEL]


# --- Drift ----------------------------------------------------------------------------------


def _product_share_statistics(tmp_path, name, share):
    rows = _real_rows(500)
    for index, row in enumerate(rows):
        row["product"] = "Mortgage" if index % 100 < share * 100 else "Debt collection"
    _write(str(tmp_path / f"{name}.csv"), rows)
    return tfdv.generate_statistics_from_csv(str(tmp_path / f"{name}.csv"))


@pytest.mark.slow
def test_a_product_jumping_from_20_to_80_percent_is_drift_and_22_percent_is_not(tmp_path):
    curated = schema.read_curated()
    before = _product_share_statistics(tmp_path, "before", 0.20)
    jumped = data_gate.drift_anomalies(before, _product_share_statistics(tmp_path, "after", 0.80), curated)
    [line] = data_gate.describe_anomalies(jumped, "eval")
    assert line.startswith("eval, feature 'product': High Linfty distance") and "0.6" in line
    assert not data_gate.drift_anomalies(
        before, _product_share_statistics(tmp_path, "near", 0.22), curated
    ).anomaly_info


# --- CSV files CsvExampleGen cannot read (case 3, 5, 7) -------------------------------------------

HEADER = "a,b,c\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (HEADER + '1,"open quote,3\n4,5,6\n', "bad.csv lines 2-3: one record spans several lines"),
        (HEADER + '1,"two\nlines",3\n', "bad.csv lines 2-3: one record spans several lines"),
        (HEADER + "1,2,3\n4,5\n", "bad.csv line 3: 2 fields, the header has 3"),
        (HEADER + "1,2,3\n4,5,6,7\n", "bad.csv line 3: 4 fields, the header has 3"),
        (HEADER + "1,2,3\n\n", "bad.csv line 3: a blank line"),
        (HEADER, "bad.csv holds a header and no data rows"),
        ("", "bad.csv is empty"),
        (b"a,b,c\n1,2,3\n4,caf\xe9,6\n", "bad.csv line 3: bytes that are not UTF-8"),
    ],
)
def test_unreadable_csv_is_refused_with_file_and_line(tmp_path, content, message):
    path = tmp_path / "data" / "bad.csv"
    path.parent.mkdir()
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=message):
        csv_check.check_csv_file(str(path))
    # The pipeline refuses the folder before any component exists.
    with pytest.raises(ValueError, match=message):
        base_pipeline.create_pipeline(
            PipelineSettings(),
            pipeline_root=str(tmp_path / "root"),
            data_root=str(path.parent),
            module_file=MODULE_FILE,
            serving_model_dir=str(tmp_path / "serving"),
        )


def test_files_with_different_headers_are_refused(tmp_path):
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    (tmp_path / "b.csv").write_text("a,c\n1,2\n")
    with pytest.raises(ValueError, match=r"b.csv has columns \['a', 'c'\], but .*a.csv has \['a', 'b'\]"):
        csv_check.check_csv_folder(str(tmp_path))


def test_a_100000_character_narrative_is_readable(tmp_path):
    rows = _real_rows(3)
    rows[1]["consumer_complaint_narrative"] = ("word " * 20000)[:100000]
    _write(str(tmp_path / "long.csv"), rows)
    assert csv_check.check_csv_file(str(tmp_path / "long.csv")) == list(rows[0])
    for span in spans.available(DATA_ROOT):  # The committed data passes, month by month.
        csv_check.check_csv_folder(os.path.join(DATA_ROOT, f"span-{span}"))


# --- The gate in a pipeline run (cases 1, 2, 4, 6, 7 and drift) -----------------------------------


def _validate(tmp_path, rows, fields=None, eval_rows=None):
    """Runs the components up to the gate (local_runner --validate-only); returns the
    gate's error message, or None."""
    data_root = str(tmp_path / "data")
    if eval_rows is None:
        _write(os.path.join(data_root, "complaints.csv"), rows, fields)
    else:
        _write(os.path.join(data_root, "train", "complaints.csv"), rows, fields)
        _write(os.path.join(data_root, "eval", "complaints.csv"), eval_rows, fields)
    pipeline = base_pipeline.create_pipeline(
        PipelineSettings(presplit=eval_rows is not None),
        pipeline_root=str(tmp_path / "root"),
        data_root=data_root,
        module_file=MODULE_FILE,
        serving_model_dir=str(tmp_path / "serving"),
        metadata_connection_config=sqlite_metadata_connection_config(str(tmp_path / "metadata.sqlite")),
        beam_pipeline_args=LOCAL_BEAM_PIPELINE_ARGS,
        validate_only=True,
    )
    assert [component.id for component in pipeline.components][-1] == "DataValidationGate"
    try:
        LocalDagRunner().run(pipeline)
    except data_gate.DataValidationError as error:
        return str(error)
    return None


def _every_tenth(rows, **changes):
    return [dict(row, **changes) if index % 10 == 0 else row for index, row in enumerate(rows)]


def _several_faults(rows):
    """Case 2 (an extra column), case 4 (a label of 2) and a value outside a closed category."""
    rows = [dict(row, complaint_id="1290401") for row in _every_tenth(rows, consumer_disputed="2")]
    for row in rows[3::10]:
        row["company_response"] = "Ignored"
    return rows


def _unseen_and_long(rows):
    """Case 6 (categories the data never had) and case 7 (a 100,000-character narrative)."""
    rows = _every_tenth(
        rows,
        product="Cryptocurrency wallet",
        company="NEW BANK OF NOWHERE",
        state="ZZ",
        issue="A brand-new issue",
        sub_product="",
        zip_code="",
    )
    rows[5]["consumer_complaint_narrative"] = ("word " * 20000)[:100000]
    return rows


RUNS = {
    "several faults": _several_faults,
    "missing column and labels": lambda rows: [
        {k: v for k, v in row.items() if k != "company"} for row in _every_tenth(rows, consumer_disputed="")
    ],
    "label yes": lambda rows: _every_tenth(rows, consumer_disputed="Yes"),
    "unseen and long": _unseen_and_long,
    # Every complaint about payday loans: well-formed, every value allowed, and nothing like the
    # data any model learned from (about 1% of data_local is about payday loans).
    "payday loan": lambda rows: [dict(row, product="Payday loan", sub_product="") for row in rows],
}


@pytest.fixture(scope="module")
def gate_runs(tmp_path_factory):
    """{run: (folder, the gate's message or None)}: one validate-only run per dataset above."""
    runs = {}
    for name, make in RUNS.items():
        folder = tmp_path_factory.mktemp(name.replace(" ", "_"))
        rows = make(_real_rows(300))
        runs[name] = folder, _validate(folder, rows, fields=list(rows[0]))
    return runs


CASES = {
    "1 missing column": (
        "missing column and labels",
        "feature 'company': Column dropped: Column is completely missing",
    ),
    "2 extra column": ("several faults", "feature 'complaint_id': New column"),
    "4 label 2": ("several faults", "feature 'consumer_disputed': Out-of-range values: Unexpectedly large value: 2."),
    "4 label not a number": (
        "label yes",
        "feature 'consumer_disputed': Unexpected data type: Expected data of type: INT but got STRING",
    ),
    "4 label missing": (
        "missing column and labels",
        "feature 'consumer_disputed': Missing values: Some examples have fewer values",
    ),
    "closed category": (
        "several faults",
        "feature 'company_response': Unexpected string values: "
        "Examples contain values missing from the schema: Ignored",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_gate_stops_bad_data_naming_feature_and_reason(gate_runs, case):
    run, expected = CASES[case]
    folder, message = gate_runs[run]
    assert message is not None, f"{case}: the gate let the data through"
    assert message.startswith("The data failed validation, so the run stops before Transform and Trainer")
    assert f"split 'train', {expected}" in message and f"split 'eval', {expected}" in message
    assert not os.path.exists(folder / "root" / "Transform")


def test_unseen_categories_and_a_100000_character_narrative_pass_the_gate(gate_runs):
    assert gate_runs["unseen and long"][1] is None


@pytest.mark.slow
def test_eval_data_drifting_from_train_stops_the_gate(tmp_path):
    rows = _real_rows(400)
    train = [dict(row, product="Mortgage" if i % 5 == 0 else "Debt collection") for i, row in enumerate(rows[:250])]
    evaluation = [dict(row, product="Mortgage" if i % 5 else "Debt collection") for i, row in enumerate(rows[250:])]
    message = _validate(tmp_path, train, eval_rows=evaluation)
    assert "split 'eval' against 'train', feature 'product': High Linfty distance" in message
    assert "The feature value with maximum difference is: Mortgage" in message


def _artifact(root, component, output):
    [uri] = glob.glob(os.path.join(root, component, output, "*"))
    return uri


def test_a_shifted_population_is_stopped_against_the_reference_statistics(gate_runs):
    """Before any model was served: 'Payday loan' for every complaint passes every rule of the schema,
    and is stopped by its distance to the reference statistics, with the feature, distance and threshold."""
    folder, message = gate_runs["payday loan"]
    assert message is not None, "the gate let a population of payday-loan complaints through"
    [line] = [line for line in message.splitlines() if "against the reference statistics" in line]
    assert "split 'train' against the reference statistics (no model was served yet), feature 'product'" in line
    distance = float(re.search(r"distance between current and previous is ([0-9.]+)", line).group(1))
    assert distance > 0.9 and "above the threshold 0.25" in line and "Payday loan" in line
    assert "split 'eval' against 'train'" not in message  # Both splits are payday loans alike.
    assert not os.path.exists(folder / "root" / "Transform")


def _executor_input(**uris):
    """A Vertex AI executor input naming one artifact per input key (what {{$}} becomes)."""
    return json.dumps({"inputs": {"artifacts": {key: {"artifacts": [{"uri": uri}]} for key, uri in uris.items()}}})


def test_the_gate_step_of_the_pipeline_image_gives_the_same_verdict(gate_runs, tmp_path):
    """What the Vertex AI task runs (the components' entry point, in the pipeline image), on real artifacts."""
    command = vertex_steps.data_gate("unused-image", REFERENCE_STATISTICS_FILE).EXECUTOR_SPEC.command
    assert command == [
        *vertex_steps.ENTRYPOINT,
        "data-gate",
        "--reference",
        REFERENCE_STATISTICS_FILE,
        "--executor-input",
        "{{$}}",
    ]
    image_root = tmp_path / "image"  # What the pipeline image holds of the repository: the components only.
    shutil.copytree(REPO_ROOT / "pipeline_tools" / "components", image_root / "pipeline_tools" / "components")
    shutil.copy(REPO_ROOT / "pipeline_tools" / "__init__.py", image_root / "pipeline_tools")
    for run, status, text in (("several faults", 1, "Out-of-range values"), ("unseen and long", 0, "passed")):
        root = str(gate_runs[run][0] / "root")
        executor_input = _executor_input(
            anomalies=_artifact(root, "ExampleValidator", "anomalies"),
            statistics=_artifact(root, "StatisticsGen", "statistics"),
            schema=_artifact(root, "ImportSchemaGen", "schema"),
        )
        result = subprocess.run(
            [sys.executable, *command[1:-1], executor_input],
            capture_output=True,
            text=True,
            cwd=str(tmp_path),
            env=dict(os.environ, PYTHONPATH=str(image_root)),  # As the image's ENV PYTHONPATH says.
        )
        assert result.returncode == status, result.stderr[-2000:]
        assert text in (result.stdout + result.stderr)
        # Before any model was served: the distances to the reference statistics, each with its threshold.
        assert "drift against the reference statistics (no model was served yet):" in result.stdout
        assert "  product: L-infinity " in result.stdout and "(at most 0.25)" in result.stdout


@pytest.mark.slow
def test_the_local_runner_stops_before_transform_and_exits_1(tmp_path, capsys):
    _write(str(tmp_path / "data" / "complaints.csv"), _every_tenth(_real_rows(300), consumer_disputed="2"))
    status = local_runner.main(["--data-root", str(tmp_path / "data"), "--output-root", str(tmp_path / "out")])
    assert status == 1
    assert "feature 'consumer_disputed': Out-of-range values" in capsys.readouterr().err
    root = tmp_path / "out" / "pipeline_root"
    assert (root / "ExampleValidator").is_dir() and not (root / "Transform").exists()
    assert not (tmp_path / "out" / "serving_model").exists()


def test_the_anomalies_table_lists_each_split_feature_and_reason(gate_runs):
    folder, _ = gate_runs["several faults"]
    table = views.anomalies_table(_artifact(str(folder / "root"), "ExampleValidator", "anomalies"))
    assert list(table.columns) == ["split", "feature", "anomaly", "detail"]
    assert set(table["split"]) == {"train", "eval"}
    found = set(zip(table["feature"], table["anomaly"], strict=True))
    assert {
        ("consumer_disputed", "Out-of-range values"),
        ("complaint_id", "New column"),
        ("company_response", "Unexpected string values"),
    } <= found


def test_schema_comparison_says_each_schemas_rules_in_words():
    curated = schema.read_curated()
    inferred = schema.read_curated()
    product = next(feature for feature in inferred.feature if feature.name == "product")
    product.ClearField("drift_comparator")
    product.domain = "product"
    inferred.string_domain.add(name="product", value=["Mortgage", "Credit card"])
    del inferred.feature[-1]  # zip_code
    table = views.schema_comparison({"inferred": inferred, "curated": curated})
    assert list(table.columns) == ["inferred", "curated"] and len(table) == 11
    assert table.loc["product", "inferred"] == "every row; only the 2 values seen"
    assert table.loc["product", "curated"] == "every row; drift (L-infinity) at most 0.25"
    assert table.loc["consumer_disputed", "curated"] == (
        "every row; integers 0..1; not in SERVING; drift (Jensen-Shannon) at most 0.02"
    )
    assert table.loc["timely_response", "curated"] == "every row; closed: No, Yes; drift (L-infinity) at most 0.1"
    assert table.loc["zip_code", "inferred"] == "(absent)" and table.loc["zip_code", "curated"] == "may be blank"
