"""Shared test setup: the repository on sys.path, Keras 2 for tf.Transform."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def staged_data_local(folder, **settings):
    """(PipelineSettings, data root) of data_local's monthly spans staged in folder, as the runners
    and notebooks stage them (pipeline_tools.spans.input_for): all of them unless spans= says which."""
    from pipeline_tools import spans
    from pipeline_tools.settings import DATA_ROOT, PipelineSettings

    return spans.input_for(PipelineSettings(**settings), DATA_ROOT, str(folder))
