"""pipeline_tools/serving.py: the pushed versions, and raw rows as the serving signature takes them."""

import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline_tools import columns, serving


def test_serialize_raw_examples_types_fields_by_schema_and_drops_label():
    schema = schema_pb2.Schema()
    for name, kind in (("product", schema_pb2.BYTES), ("zip_code", schema_pb2.INT), (columns.LABEL, schema_pb2.INT)):
        schema.feature.add(name=name, type=kind)
    [serialized] = serving.serialize_raw_examples(
        [{"product": "Mortgage", "zip_code": "14850", columns.LABEL: "1", "sub_issue": ""}], schema
    )
    features = tf.train.Example.FromString(serialized).features.feature
    assert set(features) == {"product", "zip_code"}
    assert features["zip_code"].int64_list.value == [14850]
    assert features["product"].bytes_list.value == [b"Mortgage"]


def test_pushed_versions_are_the_numbered_folders_oldest_first(tmp_path):
    assert serving.pushed_versions(str(tmp_path / "nothing")) == []
    assert serving.latest_model_dir(str(tmp_path / "nothing")) is None
    for name in ("1700000009", "1700000010", "tmp-upload", "99"):
        (tmp_path / name).mkdir()
    (tmp_path / "1800000000").write_text("a file, not a version")
    assert serving.pushed_versions(str(tmp_path)) == ["99", "1700000009", "1700000010"]
    assert serving.latest_model_dir(str(tmp_path)) == str(tmp_path / "1700000010")


def test_read_rows_reads_the_first_rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("product,consumer_disputed\nMortgage,1\nCredit card,0\nDebt collection,0\n")
    assert serving.read_rows(str(path), 2) == [
        {"product": "Mortgage", "consumer_disputed": "1"},
        {"product": "Credit card", "consumer_disputed": "0"},
    ]
    assert len(serving.read_rows(str(path))) == 3
