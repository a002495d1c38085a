"""What the model is: preprocessing, Keras model, training and serving for the CFPB pipeline.

TFX loads this file by path in two components:
  * Transform calls `preprocessing_fn` once over the training data (analyzers such as
    vocabularies run in Apache Beam) and saves the result as a TensorFlow graph;
  * Trainer calls `run_fn`, which trains the Keras model on the transformed examples and
    saves a SavedModel whose `serving_default` signature embeds that same transform graph,
    so serving takes raw complaints and training/serving skew cannot creep in.
"""

import json
import math
import os

# tensorflow-transform needs Keras 2; TF >= 2.16 makes tf.keras Keras 3 unless this is set
# before TensorFlow is first imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
import tf_keras as keras  # noqa: E402
from absl import logging  # noqa: E402

# The Trainer's types from their own module: `from tfx import v1` would also import every Google
# Cloud extension (Vertex AI's client, seconds of start-up) into each Transform and Trainer run.
from tfx.components.trainer.fn_args_utils import DataAccessor, FnArgs  # noqa: E402
from tfx_bsl.public import tfxio  # noqa: E402

# Raw columns of data_local/*.csv. This file stands alone (on Vertex AI it is loaded by itself in
# TFX's image), so it names them here; a test keeps them equal to pipeline_tools/columns.py.
LABEL_KEY = "consumer_disputed"
NARRATIVE_KEY = "consumer_complaint_narrative"
ZIP_CODE_KEY = "zip_code"
CATEGORICAL_KEYS: list[str] = [
    "product",
    "sub_product",
    "issue",
    "sub_issue",
    "company",
    "state",
    "company_response",
    "timely_response",
]

# Preprocessing hyperparameters.
CATEGORICAL_TOP_K = 1000  # Categories kept per column; rarer ones share the OOV bucket.
OOV_BUCKETS = 1  # Unseen categories and words at serving time land here.
ZIP_PREFIX_BUCKETS = 10  # Quantile buckets of the 3-digit ZIP prefix; one more for unknown.
NARRATIVE_VOCAB_SIZE = 10000  # Most frequent narrative tokens kept.
NARRATIVE_LENGTH = 300  # Tokens per narrative after truncation and padding.
MISSING_CATEGORY = "<missing>"

# Model and training hyperparameters (tuned against a TF-IDF logistic regression: benchmarks/).
CATEGORICAL_EMBEDDING_DIM = 4  # 8 overfit the ~300 companies on 2,800 training rows.
NARRATIVE_EMBEDDING_DIM = 16
HIDDEN_UNITS: list[int] = [16]
DROPOUT_RATE = 0.5  # 2,800 training rows and a 10,000-word vocabulary overfit quickly.
WIDE_L2 = 1e-4  # L2 penalty of the wide (linear) part's weights.
LEARNING_RATE = 1e-3
TRAIN_BATCH_SIZE = 64
EVAL_BATCH_SIZE = 64
SEED = 42
# How long to train: PASSES passes over the training split, and never more than train_steps. On
# little data that stops a model from learning its rows by heart (200 passes over 160 rows did);
# on a lot, train_steps is the limit. Measured against early stopping in benchmarks/README.md.
PASSES = 10
CURVE_POINTS = 10  # Measurements of the eval split for the training curves (one per pass when it fits).
TRAINING_RECORD = "training.json"  # In the Trainer's model_run folder: how long run_fn trained, and why.


def _skip_autograph_for_tf_keras() -> None:
    """Stops AutoGraph from rewriting tf_keras's own source whenever a model is traced.

    AutoGraph leaves packages named "keras" alone but not "tf_keras" (Keras 2 under
    TF >= 2.16), so the first training step and model.save() each spent about 30 s on
    2 cores converting Keras internals that have no tensor-dependent Python control flow.
    TensorFlow has no public switch for this, hence its private rule list (left alone if gone).
    """
    try:
        from tensorflow.python.autograph.core import config as autograph_config
    except ImportError:
        return
    rule = autograph_config.DoNotConvert("tf_keras")
    if all(getattr(r, "_prefix", None) != "tf_keras" for r in autograph_config.CONVERSION_RULES):
        autograph_config.CONVERSION_RULES = (rule,) + tuple(autograph_config.CONVERSION_RULES)


_skip_autograph_for_tf_keras()


def transformed_name(key: str) -> str:
    """Returns the name of the transformed feature made from raw column `key`."""
    return key + "_xf"


def vocabulary_name(key: str) -> str:
    """Returns the file name of the vocabulary tf.Transform learns for `key`."""
    return key + "_vocab"


def _fill_in_missing(x: tf.Tensor) -> tf.Tensor:
    """Returns `x` as a 1-D dense tensor with "" (text) or -1 (numbers) where a value is missing.

    An empty CSV field becomes an absent value, so columns with gaps arrive as sparse tensors.
    """
    if isinstance(x, tf.SparseTensor):
        default_value = "" if x.dtype == tf.string else tf.constant(-1, x.dtype)
        x = tf.sparse.to_dense(tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]), default_value)
    return tf.reshape(x, [-1])


def _as_text(x: tf.Tensor) -> tf.Tensor:
    """Returns `x` as strings; CSV type inference may read an all-digit column as numbers."""
    return x if x.dtype == tf.string else tf.strings.as_string(x)


def _zip_prefix(zip_code: tf.Tensor) -> tf.Tensor:
    """Returns the 3-digit ZIP prefix as a float, or -1 where it is masked ("XXXXX") or empty."""
    if zip_code.dtype != tf.string:  # All-digit ZIPs may be read as integers.
        return tf.cast(zip_code // 100, tf.float32)
    prefix = tf.strings.substr(zip_code, 0, 3)
    is_digits = tf.strings.regex_full_match(prefix, r"[0-9]{3}")
    safe_prefix = tf.where(is_digits, prefix, "-1")
    return tf.strings.to_number(safe_prefix, tf.float32)


EMPTY_TOKEN = "<empty>"  # Cannot come from text: tokens are made of [a-z0-9'] only.


def tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """Splits narratives into lower-case word tokens; CFPB's "XXXX" redactions become one token.

    A narrative with no word (missing, blank, only punctuation) becomes the one token EMPTY_TOKEN:
    the model averages a narrative's word embeddings, and an average of nothing is NaN.
    """
    text = tf.strings.lower(text)
    text = tf.strings.regex_replace(text, r"x{2,}", " xxxx ")
    text = tf.strings.regex_replace(text, r"[^a-z0-9' ]", " ")
    text = tf.where(tf.strings.regex_full_match(text, r" *"), EMPTY_TOKEN, text)
    return tf.strings.split(text)


# See _skip_autograph_for_tf_keras: nothing here branches on tensor values either.
@tf.autograph.experimental.do_not_convert
def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """tf.Transform callback: maps raw features to the model's integer features."""
    outputs = {}
    for key in CATEGORICAL_KEYS:
        values = _as_text(_fill_in_missing(inputs[key]))
        values = tf.where(tf.strings.strip(values) == "", MISSING_CATEGORY, values)
        outputs[transformed_name(key)] = tft.compute_and_apply_vocabulary(
            values,
            top_k=CATEGORICAL_TOP_K,
            num_oov_buckets=OOV_BUCKETS,
            vocab_filename=vocabulary_name(key),
        )

    prefix = _zip_prefix(_fill_in_missing(inputs[ZIP_CODE_KEY]))
    known = prefix >= 0
    # Quantile boundaries are learned from the known prefixes only; unknown gets its own id.
    boundaries = tft.quantiles(tf.boolean_mask(prefix, known), num_buckets=ZIP_PREFIX_BUCKETS, epsilon=0.01)
    buckets = tft.apply_buckets(prefix, boundaries)
    outputs[transformed_name(ZIP_CODE_KEY)] = tf.where(known, buckets, tf.constant(ZIP_PREFIX_BUCKETS, tf.int64))

    tokens = tokenize(_fill_in_missing(inputs[NARRATIVE_KEY]))
    token_ids = tft.compute_and_apply_vocabulary(
        tokens.flat_values,
        top_k=NARRATIVE_VOCAB_SIZE,
        num_oov_buckets=OOV_BUCKETS,
        vocab_filename=vocabulary_name(NARRATIVE_KEY),
    )
    # Shift ids by one so that 0 is padding, then cut or pad every narrative to a fixed length.
    ragged_ids = tokens.with_flat_values(token_ids + 1)
    outputs[transformed_name(NARRATIVE_KEY)] = ragged_ids.to_tensor(default_value=0, shape=[None, NARRATIVE_LENGTH])

    outputs[LABEL_KEY] = _fill_in_missing(inputs[LABEL_KEY])
    return outputs


def input_fn(
    file_pattern: list[str],
    data_accessor: DataAccessor,
    tf_transform_output: tft.TFTransformOutput,
    batch_size: int,
    repeat: bool = True,
) -> tf.data.Dataset:
    """Returns a dataset of (transformed features, label) batches: repeating, or one pass in file order."""
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size, label_key=LABEL_KEY, shuffle_seed=SEED, shuffle=repeat, num_epochs=None if repeat else 1
    )
    return data_accessor.tf_dataset_factory(file_pattern, options, tf_transform_output.transformed_metadata.schema)


def _bucket_counts(tf_transform_output: tft.TFTransformOutput) -> dict[str, int]:
    """Returns the number of distinct integer ids of each transformed feature."""
    counts = {
        transformed_name(key): tf_transform_output.vocabulary_size_by_name(vocabulary_name(key)) + OOV_BUCKETS
        for key in CATEGORICAL_KEYS
    }
    counts[transformed_name(ZIP_CODE_KEY)] = ZIP_PREFIX_BUCKETS + 1
    # +1 for the padding id 0.
    counts[transformed_name(NARRATIVE_KEY)] = (
        tf_transform_output.vocabulary_size_by_name(vocabulary_name(NARRATIVE_KEY)) + OOV_BUCKETS + 1
    )
    return counts


def build_keras_model(tf_transform_output: tft.TFTransformOutput) -> keras.Model:
    """Builds the dispute classifier, a wide-and-deep model sized by the transform's vocabularies.

    Deep part: an embedding of every categorical feature and the average of the narrative's word
    embeddings, through a small MLP. Wide part: a linear model of the same ids one-hot encoded
    (the narrative as a bag of words), which remembers what single words and companies say and
    is what a TF-IDF logistic regression does well. Their logits add up.
    """
    keras.utils.set_random_seed(SEED)
    bucket_counts = _bucket_counts(tf_transform_output)
    inputs, deep, wide = {}, [], []
    for key in CATEGORICAL_KEYS + [ZIP_CODE_KEY]:
        name = transformed_name(key)
        inputs[name] = keras.layers.Input(shape=(1,), name=name, dtype=tf.int64)
        embedded = keras.layers.Embedding(bucket_counts[name], CATEGORICAL_EMBEDDING_DIM)(inputs[name])
        deep.append(keras.layers.Flatten()(embedded))
        wide.append(keras.layers.CategoryEncoding(bucket_counts[name], output_mode="one_hot")(inputs[name]))

    name = transformed_name(NARRATIVE_KEY)
    inputs[name] = keras.layers.Input(shape=(NARRATIVE_LENGTH,), name=name, dtype=tf.int64)
    words = keras.layers.Embedding(bucket_counts[name], NARRATIVE_EMBEDDING_DIM, mask_zero=True)(inputs[name])
    deep.append(keras.layers.GlobalAveragePooling1D()(words))
    wide.append(keras.layers.CategoryEncoding(bucket_counts[name], output_mode="multi_hot")(inputs[name]))

    x = keras.layers.concatenate(deep)
    for units in HIDDEN_UNITS:
        x = keras.layers.Dense(units, activation="relu")(x)
        x = keras.layers.Dropout(DROPOUT_RATE)(x)
    deep_logit = keras.layers.Dense(1, name="deep_logit")(x)
    wide_logit = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.l2(WIDE_L2), name="wide_logit")(
        keras.layers.concatenate(wide)
    )
    logit = keras.layers.Add()([deep_logit, wide_logit])
    output = keras.layers.Activation("sigmoid", name="dispute_probability")(logit)

    model = keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return model


def count_examples(dataset: tf.data.Dataset, limit: int) -> int:
    """The examples in a one-pass dataset of (features, label) batches, counting no further than limit."""
    count = 0
    for _, labels in dataset:
        count += int(labels.shape[0])
        if count >= limit:
            break
    return min(count, limit)


def training_plan(train_examples: int, train_steps: int) -> dict:
    """How long to train and how often to measure: PASSES passes over the data, at most train_steps.

    train_examples may be counted only as far as the budget still fits in train_steps (run_fn
    stops counting there). Returns the training record: steps, the steps between two
    measurements, and why.
    """
    steps_per_pass = max(1, math.ceil(train_examples / TRAIN_BATCH_SIZE))
    budget = PASSES * steps_per_pass
    if budget <= train_steps:  # One measurement per pass.
        interval, measurements = steps_per_pass, PASSES
        why = f"{PASSES} passes over {train_examples:,} training rows (the budget), within train_steps {train_steps}"
    else:
        interval = max(1, train_steps // CURVE_POINTS)
        measurements = train_steps // interval
        why = f"train_steps ({train_steps}) ran out before {PASSES} passes over the training rows (raise it for more)"
    steps = interval * measurements
    return {
        "train_examples": train_examples,  # Counted as far as needed (see above).
        "passes": PASSES if budget <= train_steps else None,
        "train_steps": train_steps,
        "trained_steps": steps,
        "measurement_interval": interval,
        "limited_by": "budget" if budget <= train_steps else "train_steps",
        "reason": f"trained {steps} steps: {why}",
    }


def _write_record(record: dict, log_dir: str) -> None:
    """The training record as JSON beside the TensorBoard logs, and as text in TensorBoard itself."""
    tf.io.gfile.makedirs(log_dir)
    with tf.io.gfile.GFile(os.path.join(log_dir, TRAINING_RECORD), "w") as handle:
        handle.write(json.dumps(record, indent=1))
    with tf.summary.create_file_writer(os.path.join(log_dir, "train")).as_default():
        tf.summary.text("training_length", record["reason"], step=record["trained_steps"])


def train(
    model: keras.Model,
    train_dataset: tf.data.Dataset,
    eval_dataset: tf.data.Dataset,
    plan: dict,
    eval_steps: int,
    log_dir: str | None = None,
    verbose: int | None = None,
) -> keras.callbacks.History:
    """Trains model as the plan says (`training_plan`), measuring eval_steps batches of the eval split
    after each interval for the curves (TensorBoard logs in log_dir); nothing is chosen by them.

    verbose is Keras's; by default a line per measurement, in a notebook (InteractiveContext trains
    in the kernel) as in LocalDagRunner's and Vertex AI's logs: Keras's progress bars redraw a line
    in a terminal, but a saved notebook keeps every redraw, run together.
    """
    history = model.fit(
        train_dataset,
        epochs=plan["trained_steps"] // plan["measurement_interval"],
        steps_per_epoch=plan["measurement_interval"],
        validation_data=eval_dataset,
        validation_steps=eval_steps,
        callbacks=[keras.callbacks.TensorBoard(log_dir=log_dir)] if log_dir else [],
        verbose=2 if verbose is None else verbose,
    )
    if log_dir:
        _write_record(plan, log_dir)
    return history


def make_serving_fn(model: keras.Model, tf_transform_output: tft.TFTransformOutput):
    """Returns a tf.function from serialized raw tf.Examples to dispute probabilities."""
    # Tracked as an attribute so the transform graph and its vocabularies are saved too.
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_feature_spec = tf_transform_output.raw_feature_spec()
    raw_feature_spec.pop(LABEL_KEY)  # Serving requests carry no label.

    @tf.function(
        input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")],
        autograph=False,  # See preprocessing_fn.
    )
    def serve_tf_examples_fn(serialized_examples: tf.Tensor) -> dict[str, tf.Tensor]:
        raw_features = tf.io.parse_example(serialized_examples, raw_feature_spec)
        transformed = model.tft_layer(raw_features)
        features = {name: transformed[name] for name in model.input_names}
        return {"dispute_probability": model(features)}

    return serve_tf_examples_fn


def export_serving_model(model: keras.Model, tf_transform_output: tft.TFTransformOutput, export_dir: str) -> None:
    """Saves model with its transform graph: serving_default takes serialized raw tf.Examples."""
    signatures = {"serving_default": make_serving_fn(model, tf_transform_output)}
    # No traced copy of every layer's call: serving and the Evaluator use serving_default, and Keras
    # rebuilds these built-in layers from their config. Saving is some 3 s faster, and so is loading.
    model.save(export_dir, save_format="tf", signatures=signatures, save_traces=False)


def run_fn(fn_args: FnArgs) -> None:
    """TFX Trainer callback: trains the model and saves it with its serving signature."""
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train_dataset = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, TRAIN_BATCH_SIZE)
    eval_dataset = input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output, EVAL_BATCH_SIZE)
    model = build_keras_model(tf_transform_output)
    model.summary(print_fn=logging.info)  # Some 200 lines: the Trainer's log, not the notebook.
    print(f"model: {len(model.layers)} layers, {model.count_params():,} parameters (the layers: Trainer's log)")
    # Count the training rows only as far as the budget could still fit in train_steps.
    one_pass = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output, 256, repeat=False)
    limit = (fn_args.train_steps // PASSES + 1) * TRAIN_BATCH_SIZE
    plan = training_plan(count_examples(one_pass, limit), fn_args.train_steps)
    train(model, train_dataset, eval_dataset, plan, fn_args.eval_steps, log_dir=fn_args.model_run_dir)
    export_serving_model(model, tf_transform_output, fn_args.serving_model_dir)
