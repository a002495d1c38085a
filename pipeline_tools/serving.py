"""The pushed model as a client sees it: the newest version, raw rows in, dispute probabilities out.

The Pusher copies a blessed model into `serving_model_dir/<version>/` (a model server such as
TensorFlow Serving serves the newest version). Its `serving_default` signature takes serialized
raw `tf.Example`s, without the label, and answers `dispute_probability`: the transform graph is
inside the model. The local notebook, the tests, the benchmark and the Vertex AI endpoint request
all go through these functions.
"""

import csv
import itertools
import os
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline_tools import spans
from pipeline_tools.columns import LABEL

SIGNATURE = "serving_default"
OUTPUT = "dispute_probability"


def pushed_versions(serving_model_dir: str) -> list[str]:
    """The version folders the Pusher wrote (local or gs://), oldest first; [] when none."""
    if not tf.io.gfile.isdir(serving_model_dir):
        return []
    names = [name.rstrip("/") for name in tf.io.gfile.listdir(serving_model_dir)]
    versions = [name for name in names if name.isdigit() and tf.io.gfile.isdir(os.path.join(serving_model_dir, name))]
    return sorted(versions, key=int)


def latest_model_dir(serving_model_dir: str) -> str | None:
    """The newest pushed version's folder, or None when nothing was pushed."""
    versions = pushed_versions(serving_model_dir)
    return os.path.join(serving_model_dir, versions[-1]) if versions else None


def read_rows(path: str, count: int | None = None) -> list[dict[str, str]]:
    """The first count rows (all when None) in the tutorial's columns of a CSV file, or of a data
    folder's CSV files (data_local: its monthly spans, oldest first)."""
    paths = spans.csv_paths(path) if os.path.isdir(path) else [path]
    rows: list[dict[str, str]] = []
    for csv_path in paths:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            rows += itertools.islice(csv.DictReader(handle), None if count is None else count - len(rows))
        if count is not None and len(rows) >= count:
            break
    return rows


def serialize_raw_examples(rows: Sequence[dict[str, str]], schema: schema_pb2.Schema) -> list[bytes]:
    """Encodes CSV rows as the serving signature expects them: tf.Examples typed by the raw schema.

    Empty fields are left out, as a missing value is in the training data, and so is the label.
    """
    feature_types = {feature.name: feature.type for feature in schema.feature}
    examples = []
    for row in rows:
        example = tf.train.Example()
        for name, text in row.items():
            if name == LABEL or name not in feature_types or text in ("", None):
                continue
            feature = example.features.feature[name]
            if feature_types[name] == schema_pb2.INT:
                feature.int64_list.value.append(int(text))
            elif feature_types[name] == schema_pb2.FLOAT:
                feature.float_list.value.append(float(text))
            else:
                feature.bytes_list.value.append(text.encode("utf-8"))
        examples.append(example.SerializeToString())
    return examples


def load_signature(model_dir: str):
    """The model's serving signature, a callable taking examples=<serialized tf.Examples>."""
    return tf.saved_model.load(model_dir).signatures[SIGNATURE]


def predict(signature, rows: Sequence[dict[str, str]], schema: schema_pb2.Schema) -> np.ndarray:
    """The dispute probability of each raw row, as the pushed model answers a client."""
    request = tf.constant(serialize_raw_examples(rows, schema))
    return signature(examples=request)[OUTPUT].numpy().ravel()
