"""The pipeline on much more data than data_local (the benchmark's 16-fold resample, about 50,000 rows), and
on another period's few complaints.

A reader who re-runs the tutorial on a bigger export gets a finished run and a clear outcome; the
Trainer trains as long as train_steps allows and says that it would have trained longer (on
data_local it stops after ten passes). On too few complaints the run ends, without a traceback, in a
model that is not blessed because the evidence cannot tell it from chance. The 200-row end is the
notebook's test.
"""

import json
import os

import pytest

from benchmarks import data
from conftest import REPO_ROOT
from pipeline_tools import local_runner, prepare_data


@pytest.mark.slow
def test_sixteen_times_the_data_ends_with_a_clear_outcome(tmp_path, capsys):
    header, rows = data.read_rows()
    data.write_rows(str(tmp_path / "data" / "complaints.csv"), header, data.resample(rows, 16, seed=0))
    output_root = tmp_path / "run"
    assert local_runner.main(["--data-root", str(tmp_path / "data"), "--output-root", str(output_root)]) == 0
    printed = capsys.readouterr().out
    assert "pipeline finished." in printed
    assert ("blessed: AUC " in printed and "pushed: version " in printed) or "NOT blessed: AUC " in printed
    [run_dir] = (output_root / "pipeline_root" / "Trainer" / "model_run").glob("*")
    record = json.loads((run_dir / "training.json").read_text())
    # Ten passes over ~45,000 rows would be 7,000 steps: train_steps (500) is the limit, and says so.
    assert (record["limited_by"], record["trained_steps"], record["measurement_interval"]) == ("train_steps", 500, 50)
    assert "raise it for more" in record["reason"]
    assert os.path.isdir(output_root / "pipeline_root" / "Evaluator")


@pytest.mark.slow
def test_another_periods_186_complaints_end_not_blessed_too_few_to_tell_from_chance(tmp_path, capsys):
    """The second CFPB sample's usable rows (2015-2017, ../shared/data/cfpb/SOURCE.md), converted and run."""
    source = REPO_ROOT.parent / "shared" / "data" / "cfpb" / "small_complaints.csv"
    if not source.exists():
        pytest.skip("the shared CFPB samples are not beside this checkout")
    summary = prepare_data.prepare(str(source), str(tmp_path / "data" / "complaints.csv"))
    assert (summary.written, summary.disputed) == (186, 49)
    assert local_runner.main(["--data-root", str(tmp_path / "data"), "--output-root", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert "pipeline finished." in printed and "NOT blessed: AUC " in printed
    assert "  - too few examples to tell this model from chance: " in printed
    assert "not pushed: " in printed and not (tmp_path / "run" / "serving_model").exists()
