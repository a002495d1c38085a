"""Suite 7: the pipeline's model against the baselines on the same splits, seeded and the notebook's."""

import dataclasses
import glob
import os
from collections.abc import Sequence
from typing import Any

from benchmarks.data import random_split, write_rows
from benchmarks.harness import run_output, run_pipeline
from pipeline_tools import columns


@dataclasses.dataclass(frozen=True)
class Quality:
    """The pipeline's model and the baselines on one split (seed: a seeded random split, or "hash":
    CsvExampleGen's split, the notebook's)."""

    seed: int | str
    eval_rows: int
    pipeline: dict[str, float]  # The Evaluator's auc, accuracy and examples.
    training: dict[str, Any]  # trained_steps, limited_by, train_examples (module.TRAINING_RECORD).
    baselines: dict[str, dict[str, float]]  # By name: majority, tfidf_logreg.

    def as_json(self) -> dict[str, Any]:
        """As the report's .json holds it: the baselines beside the pipeline's numbers."""
        fields = dataclasses.asdict(self)
        baselines = fields.pop("baselines")
        return {**fields, **baselines}


def evaluation(output_root: str) -> dict[str, float]:
    """The Evaluator's overall AUC, accuracy and example count of the root's first run (its cold run)."""
    import tensorflow_model_analysis as tfma

    from pipeline_tools.components import artifacts

    evaluated = tfma.load_eval_result(run_output(output_root, "Evaluator", "evaluation", run=0))
    values = artifacts.overall_metrics(evaluated)
    return {
        name: values[key]
        for name, key in (("auc", "auc"), ("accuracy", "binary_accuracy"), ("examples", "example_count"))
    }


def trained_steps(output_root: str) -> dict[str, Any]:
    """How long the root's first run trained, and what limited it (module.TRAINING_RECORD)."""
    from pipeline_tools import views

    record = views.training_record(run_output(output_root, "Trainer", "model_run", run=0))
    return {key: record[key] for key in ("trained_steps", "limited_by", "train_examples")}


def examples_as_rows(output_root: str, split: str) -> list[dict[str, str]]:
    """The rows CsvExampleGen put in one split in the root's first run, as CSV-like dicts (for the baseline)."""
    import tensorflow as tf

    examples = run_output(output_root, "CsvExampleGen", "examples", run=0)
    rows = []
    files = glob.glob(os.path.join(examples, f"Split-{split}", "*"))
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        row = {}
        for name in columns.ALL:
            kind = features[name].WhichOneof("kind") if name in features else None
            values = getattr(features[name], kind).value if kind else []
            row[name] = (values[0].decode() if isinstance(values[0], bytes) else str(values[0])) if values else ""
        rows.append(row)
    return rows


def baselines(train: Sequence[dict[str, str]], evaluate: Sequence[dict[str, str]]) -> dict[str, dict[str, float]]:
    """Majority class, and TF-IDF (narrative) + one-hot (categoricals, ZIP prefix) logistic regression."""
    from pipeline_tools import baselines as simple_models

    return simple_models.scores(train, evaluate).as_dict()


def measure_quality(work: str, header, rows, steps: int, seeds: list[int], log) -> list[Quality]:
    """7: the pipeline's model against the baselines on the same seeded splits, and on the notebook's hash split."""

    def judged(seed: int | str, root: str, train, evaluate) -> Quality:
        return Quality(seed, len(evaluate), evaluation(root), trained_steps(root), baselines(train, evaluate))

    quality = []
    for seed in seeds:
        train, evaluate = random_split(rows, seed)
        data = os.path.join(work, f"split_{seed}")
        write_rows(os.path.join(data, "train", "complaints.csv"), header, train)
        write_rows(os.path.join(data, "eval", "complaints.csv"), header, evaluate)
        log(f"quality, split {seed} ...")
        split_root = os.path.join(work, f"run_split_{seed}")
        run_pipeline(data, split_root, steps, ["--presplit", "true", "--min-eval-auc", "0"])
        quality.append(judged(seed, split_root, train, evaluate))
    # The notebook's own split: CsvExampleGen's hash buckets over data_local (the cold run's).
    cold_root = os.path.join(work, "run_1x_0")
    return [
        *quality,
        judged("hash", cold_root, examples_as_rows(cold_root, "train"), examples_as_rows(cold_root, "eval")),
    ]
