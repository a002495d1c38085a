"""What the model has to beat on the very same eval examples: always answering "not disputed", and a
TF-IDF + logistic regression that reads what the model reads.

A deep model earns its place only against simple ones judged on the same rows. `on_examples` reads
the train and eval splits CsvExampleGen wrote (its `examples` artifact), so the notebook compares
on its own split; the benchmark calls `scores` on its seeded splits. The regression sees the
model's inputs: the narrative (TF-IDF of words and word pairs) and the categorical columns and ZIP
prefix (one-hot). scikit-learn comes with TFX (both stacks).
"""

import dataclasses
import os
from collections.abc import Sequence

from pipeline_tools import columns
from pipeline_tools.components import intervals


@dataclasses.dataclass(frozen=True)
class Scores:
    """The baselines on one eval split: always "not disputed" (AUC 0.5 by construction), and the regression."""

    eval_examples: int
    disputed: int
    majority_accuracy: float
    regression_auc: float
    regression_accuracy: float

    @property
    def regression_interval(self) -> tuple[float, float]:
        return intervals.auc_interval(self.regression_auc, self.disputed, self.eval_examples - self.disputed)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            "majority": {"auc": 0.5, "accuracy": self.majority_accuracy},
            "tfidf_logreg": {"auc": self.regression_auc, "accuracy": self.regression_accuracy},
        }


def scores(train: Sequence[dict[str, str]], evaluate: Sequence[dict[str, str]]) -> Scores:
    """Both baselines, fitted on the train rows and scored on the eval rows (CSV-like dicts of text)."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = list(columns.CATEGORICAL)  # The model's categorical features: both see the same columns.

    def frame(rows):
        return pd.DataFrame(
            {
                **{key: [row[key] for row in rows] for key in categorical},
                "zip3": [row[columns.ZIP_CODE][:3] for row in rows],
                "narrative": [row[columns.NARRATIVE] for row in rows],
            }
        )

    y_train = np.array([int(float(row[columns.LABEL])) for row in train])
    y_eval = np.array([int(float(row[columns.LABEL])) for row in evaluate])
    regression = make_pipeline(
        ColumnTransformer(
            [
                ("narrative", TfidfVectorizer(min_df=2, sublinear_tf=True, ngram_range=(1, 2)), "narrative"),
                ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical + ["zip3"]),
            ]
        ),
        LogisticRegression(C=1.0, max_iter=2000),
    )
    regression.fit(frame(train), y_train)
    probabilities = regression.predict_proba(frame(evaluate))[:, 1]
    majority = int(y_train.mean() >= 0.5)
    return Scores(
        eval_examples=len(y_eval),
        disputed=int(y_eval.sum()),
        majority_accuracy=float((y_eval == majority).mean()),
        regression_auc=float(roc_auc_score(y_eval, probabilities)),
        regression_accuracy=float(((probabilities >= 0.5) == y_eval).mean()),
    )


def split_rows(examples_uri: str, split: str) -> list[dict[str, str]]:
    """The rows of one split of CsvExampleGen's `examples` artifact, as CSV-like dicts of text."""
    import tensorflow as tf

    files = tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*"))
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        row = {}
        for name in columns.ALL:
            feature = features[name] if name in features else None
            kind = feature.WhichOneof("kind") if feature is not None else None
            values = list(getattr(feature, kind).value) if kind else []
            value = values[0] if values else ""
            row[name] = value.decode() if isinstance(value, bytes) else str(value)
        rows.append(row)
    return rows


def on_examples(examples_uri: str) -> Scores:
    """Both baselines on the train and eval splits of a CsvExampleGen artifact (a run's own split)."""
    return scores(split_rows(examples_uri, "train"), split_rows(examples_uri, "eval"))
