"""What the pipeline refuses: a worse model after a good one is neither blessed nor pushed."""

import glob
import os

import pytest

import pipeline_local
from conftest import REPO_ROOT

DATA_ROOT = str(REPO_ROOT / "data_local")


def _blessings(output_root):
    """BLESSED / NOT_BLESSED of each Evaluator run, oldest first."""
    folders = glob.glob(os.path.join(output_root, "pipeline_root", "Evaluator", "blessing", "*"))
    return [sorted(os.listdir(folder)) for folder in sorted(folders, key=lambda path: int(os.path.basename(path)))]


@pytest.fixture(scope="module")
def good_then_worse(tmp_path_factory):
    """One output root: a model trained 300 steps, then one trained a single step."""
    output_root = str(tmp_path_factory.mktemp("gate") / "run")
    common = ["--data-root", DATA_ROOT, "--output-root", output_root, "--eval-steps", "5", "--min-eval-auc", "0.5"]
    assert pipeline_local.main([*common, "--train-steps", "300"]) == 0
    pushed_first = sorted(os.listdir(os.path.join(output_root, "serving_model")))
    assert pipeline_local.main([*common, "--train-steps", "1"]) == 0
    return output_root, pushed_first


def test_the_worse_model_is_not_blessed(good_then_worse):
    output_root, _ = good_then_worse
    assert _blessings(output_root) == [["BLESSED"], ["NOT_BLESSED"]]


def test_the_serving_folder_still_holds_only_the_good_model(good_then_worse):
    output_root, pushed_first = good_then_worse
    assert len(pushed_first) == 1
    assert sorted(os.listdir(os.path.join(output_root, "serving_model"))) == pushed_first
    assert os.path.isfile(os.path.join(output_root, "serving_model", pushed_first[0], "saved_model.pb"))
