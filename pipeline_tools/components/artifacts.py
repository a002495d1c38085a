"""Reading and copying the artifacts TFX writes: schema, statistics and anomalies, split by split, and
the Evaluator's metrics slice by slice.

StatisticsGen and ExampleValidator write one folder per split (`Split-train/FeatureStats.pb`,
`Split-eval/SchemaDiff.pb`); SchemaGen and ImportSchemaGen one `schema.pbtxt`. Every path may be
local or on Cloud Storage (`tf.io.gfile`).
"""

import os

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2


def read_schema(path: str) -> schema_pb2.Schema:
    """A schema.pbtxt file, or the one file of a schema artifact's folder."""
    if tf.io.gfile.isdir(path):
        path = only_file(path)
    with tf.io.gfile.GFile(path) as handle:
        return text_format.Parse(handle.read(), schema_pb2.Schema())


def read_statistics(path: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Statistics saved as text (.pbtxt) or binary (FeatureStats.pb)."""
    if path.endswith(".pbtxt"):
        with tf.io.gfile.GFile(path) as handle:
            return text_format.Parse(handle.read(), statistics_pb2.DatasetFeatureStatisticsList())
    return _read_binary(path, statistics_pb2.DatasetFeatureStatisticsList())


def _read_binary(path: str, message):
    with tf.io.gfile.GFile(path, "rb") as handle:
        message.ParseFromString(handle.read())
    return message


def split_folders(artifact_uri: str) -> dict[str, str]:
    """{split name: folder} of an artifact written per split (Split-train, Split-eval)."""
    return {
        name.rstrip("/")[len("Split-") :]: os.path.join(artifact_uri, name.rstrip("/"))
        for name in tf.io.gfile.listdir(artifact_uri)
        if name.startswith("Split-")
    }


def read_split_statistics(statistics_uri: str) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """{split: statistics} of a StatisticsGen output folder."""
    return {
        split: read_statistics(os.path.join(folder, "FeatureStats.pb"))
        for split, folder in sorted(split_folders(statistics_uri).items())
    }


def read_split_anomalies(anomalies_uri: str) -> dict[str, anomalies_pb2.Anomalies]:
    """{split: anomalies} of an ExampleValidator output folder."""
    return {
        split: _read_binary(os.path.join(folder, "SchemaDiff.pb"), anomalies_pb2.Anomalies())
        for split, folder in sorted(split_folders(anomalies_uri).items())
    }


def only_file(folder: str) -> str:
    """The path of the one file in folder (ValueError otherwise)."""
    files = [name for name in tf.io.gfile.listdir(folder) if not name.endswith("/")]
    if len(files) != 1:
        raise ValueError(f"expected one file in {folder}, found {files}")
    return os.path.join(folder, files[0])


def copy_tree(source: str, target: str) -> None:
    """Copies a folder with everything in it, local or on Cloud Storage."""
    tf.io.gfile.makedirs(target)
    for name in tf.io.gfile.listdir(source):
        name = name.rstrip("/")
        path = os.path.join(source, name)
        if tf.io.gfile.isdir(path):
            copy_tree(path, os.path.join(target, name))
        else:
            tf.io.gfile.copy(path, os.path.join(target, name), overwrite=True)


def slice_metrics(eval_result) -> list[tuple[tuple, dict]]:
    """The metrics of each slice of an evaluation (`tfma.load_eval_result`) as plain numbers:
    [(slice key, {metric name: value or None})], the overall slice's key being ()."""
    return [
        (tuple(key), {name: found.get("doubleValue") for name, found in metrics[""][""].items()})
        for key, metrics in eval_result.slicing_metrics
    ]


def overall_metrics(eval_result) -> dict:
    """The overall slice's metrics of an evaluation, as `slice_metrics` gives them."""
    for key, values in slice_metrics(eval_result):
        if not key:
            return values
    raise ValueError("the evaluation has no overall slice: its EvalConfig must slice by nothing too")
