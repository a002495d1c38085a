"""Suites 6 and 8: the pushed model's latency, and the same training without orchestration."""

import dataclasses
import glob
import os
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.harness import Run, median, run_output
from pipeline_tools.settings import PipelineSettings


@dataclasses.dataclass(frozen=True)
class Latency:
    """The pushed model's answer to one request of `batch` raw rows, over `calls` calls."""

    p50_ms: float
    p95_ms: float
    examples_per_s: float
    calls: int


@dataclasses.dataclass(frozen=True)
class ServingResults:
    """Latency by batch size, and module.py's training in plain TF against the Trainer component's."""

    latency: dict[int, Latency]
    plain_keras_runs_s: list[float]
    trainer_component_s: float
    pipeline_wall_s: float

    def as_json(self) -> dict[str, Any]:
        """As the report's .json holds it: "serving" by batch_<size>, and "limit"."""
        limit = {
            "plain_keras_s": median(self.plain_keras_runs_s),
            "plain_keras_runs_s": self.plain_keras_runs_s,
            "trainer_component_s": self.trainer_component_s,
            "pipeline_wall_s": self.pipeline_wall_s,
        }
        serving = {f"batch_{batch}": dataclasses.asdict(latency) for batch, latency in self.latency.items()}
        return {"serving": serving, "limit": limit}


def serving_latency(model_dir: str, rows: Sequence[dict[str, str]], repeats: int) -> dict[int, Latency]:
    """p50 and p95 of the pushed model's answer to raw rows, one at a time and 256 at a time."""
    from pipeline_tools import serving
    from pipeline_tools.schema import read_curated

    schema = read_curated()  # What ImportSchemaGen read.
    signature = serving.load_signature(model_dir)
    result = {}
    for batch in (1, 256):
        requests = [rows[i : i + batch] for i in range(0, batch * 8, batch)]
        for request in requests[:3]:
            serving.predict(signature, request, schema)  # Warm-up: the first calls trace and allocate.
        times = []
        for i in range(repeats):
            started = time.perf_counter()
            serving.predict(signature, requests[i % len(requests)], schema)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
        result[batch] = Latency(round(p50, 2), round(p95, 2), round(batch / (p50 / 1000), 1), repeats)
    return result


def train_without_orchestration(output_root: str, train_steps: int, eval_steps: int) -> float:
    """Does what run_fn does (module.py's model, training and export) in plain TF; returns seconds.

    It reads the root's first run's transformed examples with tf.data instead of TFX's data accessor, and no
    launcher, ML Metadata or artifact bookkeeping is involved.
    """
    import tensorflow as tf
    import tensorflow_transform as tft

    import module

    transform_graph = run_output(output_root, "Transform", "transform_graph", run=0)
    examples = run_output(output_root, "Transform", "transformed_examples", run=0)
    started = time.perf_counter()
    tf_transform_output = tft.TFTransformOutput(transform_graph)
    spec = tf_transform_output.transformed_feature_spec()

    def dataset(split: str, batch_size: int) -> tf.data.Dataset:
        return tf.data.experimental.make_batched_features_dataset(
            glob.glob(os.path.join(examples, f"Split-{split}", "*")),
            batch_size,
            spec,
            reader=lambda files: tf.data.TFRecordDataset(files, compression_type="GZIP"),
            label_key=module.LABEL_KEY,
            shuffle_seed=module.SEED,
        )

    model = module.build_keras_model(tf_transform_output)
    train_rows = sum(1 for _ in tf.data.TFRecordDataset(glob.glob(os.path.join(examples, "Split-train", "*")), "GZIP"))
    plan = module.training_plan(train_rows, train_steps)
    train, evaluate = dataset("train", module.TRAIN_BATCH_SIZE), dataset("eval", module.EVAL_BATCH_SIZE)
    module.train(model, train, evaluate, plan, eval_steps, verbose=0)
    with tempfile.TemporaryDirectory() as saved:
        module.export_serving_model(model, tf_transform_output, saved)
    return round(time.perf_counter() - started, 2)


def measure_serving_and_limit(work: str, rows, steps: int, cold: Run, repeats: int, quick: bool, log) -> ServingResults:
    """6 and 8 in the first cache root: the latest model pushed there (the cold run's, or the changed
    hyperparameter run's if that one was blessed: the same model code either way) and the cold run's
    transformed data."""
    from pipeline_tools import serving

    root = os.path.join(work, "run_1x_0")
    log("serving latency ...")
    latency = serving_latency(serving.latest_model_dir(os.path.join(root, "serving_model")), rows, 50 if quick else 300)
    log("training without orchestration ...")
    plain = [train_without_orchestration(root, steps, PipelineSettings().eval_steps) for _ in range(repeats)]
    return ServingResults(latency, plain, cold.components["Trainer"]["s"], cold.wall_s)
