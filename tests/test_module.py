"""module.py: preprocessing_fn through tf.Transform on a handful of rows, the model and its serving signature."""

import os

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import metadata_io

import module

ROWS = [
    {
        "product": "Mortgage",
        "sub_product": "FHA mortgage",
        "issue": "Loan servicing",
        "sub_issue": None,
        "company": "BANK A",
        "state": "NY",
        "zip_code": "124XX",
        "company_response": "Closed with explanation",
        "timely_response": "Yes",
        "consumer_complaint_narrative": "XXXX called me, XXXX/XXXX again! Loan loan.",
        "consumer_disputed": 1,
    },
    {
        "product": "Mortgage",
        "sub_product": None,
        "issue": "Loan servicing",
        "sub_issue": "Escrow",
        "company": "BANK B",
        "state": "NY",
        "zip_code": "10001",
        "company_response": "Closed",
        "timely_response": "No",
        "consumer_complaint_narrative": "The loan was sold.",
        "consumer_disputed": 0,
    },
    {
        "product": "Credit card",
        "sub_product": None,
        "issue": "Billing",
        "sub_issue": None,
        "company": "BANK A",
        "state": "NY",
        "zip_code": None,
        "company_response": "Closed with explanation",
        "timely_response": "Yes",
        "consumer_complaint_narrative": "Billing error on my card.",
        "consumer_disputed": 0,
    },
    {
        "product": "Debt collection",
        "sub_product": "Medical",
        "issue": "Cont'd attempts",
        "sub_issue": None,
        "company": "AGENCY C",
        "state": "NY",
        "zip_code": "14850",
        "company_response": "Closed",
        "timely_response": "Yes",
        "consumer_complaint_narrative": "Debt is not mine.",
        "consumer_disputed": 1,
    },
    {
        "product": "Mortgage",
        "sub_product": "FHA mortgage",
        "issue": "Loan servicing",
        "sub_issue": None,
        "company": "BANK A",
        "state": "NY",
        "zip_code": "XXXXX",
        "company_response": "Closed",
        "timely_response": "Yes",
        "consumer_complaint_narrative": "Late fee on the loan.",
        "consumer_disputed": 0,
    },
]
TEXT_KEYS = module.CATEGORICAL_KEYS + [module.ZIP_CODE_KEY, module.NARRATIVE_KEY]


def _raw_schema():
    """The raw schema as SchemaGen infers it with infer_feature_shape=False: every feature varlen."""
    spec = {key: tf.io.VarLenFeature(tf.string) for key in TEXT_KEYS}
    spec[module.LABEL_KEY] = tf.io.VarLenFeature(tf.int64)
    return tft.DatasetMetadata.from_feature_spec(spec)


def _instance(row):
    """A tft_beam instance dict: a list per feature, empty where the CSV field was empty."""
    instance = {key: [] if row[key] is None else [row[key].encode()] for key in TEXT_KEYS}
    instance[module.LABEL_KEY] = [row[module.LABEL_KEY]]
    return instance


def _serialize(rows):
    """Raw tf.Examples as a serving client sends them: no label, missing fields left out."""
    serialized = []
    for row in rows:
        example = tf.train.Example()
        for key in TEXT_KEYS:
            if row.get(key) is not None:
                example.features.feature[key].bytes_list.value.append(row[key].encode())
        serialized.append(example.SerializeToString())
    return tf.constant(serialized)


@pytest.fixture(scope="module")
def transform_output(tmp_path_factory):
    """Analyzes ROWS with tf.Transform on Beam and returns the saved transform graph."""
    output_dir = str(tmp_path_factory.mktemp("transform_output"))
    with beam.Pipeline() as pipeline, tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tft_tmp"))):
        raw = pipeline | beam.Create([_instance(row) for row in ROWS])
        transform_fn = (raw, _raw_schema()) | tft_beam.AnalyzeDataset(module.preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    # The Transform component stores the raw schema beside the graph; serving parses with it.
    metadata_io.write_metadata(_raw_schema(), os.path.join(output_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    return tft.TFTransformOutput(output_dir)


def _transform(transform_output, rows):
    raw_spec = transform_output.raw_feature_spec()
    raw_spec.pop(module.LABEL_KEY)
    features = tf.io.parse_example(_serialize(rows), raw_spec)
    return {name: value.numpy() for name, value in transform_output.transform_raw_features(features).items()}


def test_categorical_vocabularies_by_frequency_with_missing_and_oov(transform_output):
    product_vocab = transform_output.vocabulary_by_name(module.vocabulary_name("product"))
    assert product_vocab[0] == b"Mortgage" and set(product_vocab) == {b"Mortgage", b"Credit card", b"Debt collection"}
    sub_product_vocab = transform_output.vocabulary_by_name(module.vocabulary_name("sub_product"))
    assert module.MISSING_CATEGORY.encode() in sub_product_vocab

    unseen = dict(ROWS[0], product="Payday loan", company="NEW COMPANY")
    out = _transform(transform_output, [ROWS[1], unseen])
    product_ids = out[module.transformed_name("product")]
    assert product_ids[0] == 0  # Mortgage, the most frequent.
    assert product_ids[1] == len(product_vocab)  # The OOV bucket.
    sub_product_ids = out[module.transformed_name("sub_product")]
    assert sub_product_ids[0] == sub_product_vocab.index(module.MISSING_CATEGORY.encode())


def test_zip_prefix_buckets_and_unknown_bucket(transform_output):
    rows = [dict(ROWS[0], zip_code=zip_code) for zip_code in ("124XX", "XXXXX", None, "99999", "00501")]
    buckets = _transform(transform_output, rows)[module.transformed_name(module.ZIP_CODE_KEY)]
    assert buckets[1] == buckets[2] == module.ZIP_PREFIX_BUCKETS  # Masked and missing.
    assert all(0 <= bucket < module.ZIP_PREFIX_BUCKETS for bucket in buckets[[0, 3, 4]])
    assert buckets[4] <= buckets[0] <= buckets[3]  # Buckets keep the order of prefixes.


def test_narrative_tokens_padded_to_fixed_length(transform_output):
    vocab = transform_output.vocabulary_by_name(module.vocabulary_name(module.NARRATIVE_KEY))
    assert b"xxxx" in vocab and b"loan" in vocab
    assert b"XXXX" not in vocab and b"loan." not in vocab  # Lower-cased, punctuation stripped.
    rows = [dict(ROWS[0], consumer_complaint_narrative="Loan zebra"), dict(ROWS[0], consumer_complaint_narrative=None)]
    ids = _transform(transform_output, rows)[module.transformed_name(module.NARRATIVE_KEY)]
    assert ids.shape == (2, module.NARRATIVE_LENGTH)
    assert ids[0, 0] == vocab.index(b"loan") + 1  # Ids are shifted by one: 0 is padding.
    assert ids[0, 1] == len(vocab) + 1  # "zebra" was never seen: the OOV id.
    assert not ids[0, 2:].any()
    # A missing narrative is the one (unseen, so OOV) token "<empty>", not all padding.
    assert ids[1, 0] == len(vocab) + 1 and not ids[1, 1:].any()


def test_a_narrative_without_words_is_the_empty_token():
    tokens = module.tokenize(tf.constant(["", "  ", "!!! ...", "Fine."])).to_list()
    assert tokens == [[b"<empty>"], [b"<empty>"], [b"<empty>"], [b"fine"]]


def test_long_narrative_is_truncated():
    text = tf.constant(["word " * (module.NARRATIVE_LENGTH * 2)])
    tokens = module.tokenize(text)
    assert tokens.shape[0] == 1 and tokens.row_lengths()[0] == module.NARRATIVE_LENGTH * 2


def test_model_builds_and_serving_signature_answers_raw_examples(transform_output, tmp_path):
    model = module.build_keras_model(transform_output)
    assert set(model.input_names) == {module.transformed_name(key) for key in TEXT_KEYS}
    export_dir = str(tmp_path / "model")
    module.export_serving_model(model, transform_output, export_dir)

    loaded = tf.saved_model.load(export_dir).signatures["serving_default"]
    unseen = dict(ROWS[2], product="Payday loan", zip_code=None, consumer_complaint_narrative="Never seen words")
    probabilities = loaded(examples=_serialize([ROWS[0], unseen]))["dispute_probability"].numpy()
    assert probabilities.shape == (2, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_training_lasts_ten_passes_over_the_data_and_at_most_train_steps():
    plan = module.training_plan(train_examples=2790, train_steps=500)  # data_local's train split.
    assert (plan["trained_steps"], plan["measurement_interval"], plan["limited_by"]) == (440, 44, "budget")
    assert (
        plan["reason"] == "trained 440 steps: 10 passes over 2,790 training rows (the budget), within train_steps 500"
    )
    small = module.training_plan(train_examples=180, train_steps=500)  # 200 rows: 200 passes would learn them by heart.
    assert (small["trained_steps"], small["measurement_interval"], small["passes"]) == (30, 3, 10)
    large = module.training_plan(train_examples=45000, train_steps=500)
    assert (large["trained_steps"], large["measurement_interval"], large["limited_by"]) == (500, 50, "train_steps")
    assert large["reason"].startswith("trained 500 steps: train_steps (500) ran out before 10 passes")
    assert module.training_plan(train_examples=45000, train_steps=7)["trained_steps"] == 7


def test_training_never_exceeds_train_steps():
    for train_steps in (1, 2, 9, 10, 11, 97, 499, 500, 1000):
        for train_examples in (1, 64, 65, 640, 3000, 100_000):
            plan = module.training_plan(train_examples, train_steps)
            assert 1 <= plan["trained_steps"] <= train_steps, (train_examples, train_steps)
            assert plan["trained_steps"] % plan["measurement_interval"] == 0
