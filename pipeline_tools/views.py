"""Static views of the pipeline's artifacts: pandas tables and matplotlib charts.

TFDV's and TFMA's interactive views (`context.show`) draw in Colab but often not in JupyterLab,
and never in a notebook saved by papermill. These read the same artifacts and render as HTML
tables and PNG images everywhere: Colab, JupyterLab, papermill's output, GitHub's viewer.
"""

import html
import json
import os
import re
import sys
from collections.abc import Sequence

import matplotlib

if not os.environ.get("MPLBACKEND") and "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # No display outside a notebook (tests, scripts).

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_metadata.proto.v0 import schema_pb2  # noqa: E402

import module  # noqa: E402  (the file run_fn writes is named there)
from pipeline_tools.components import (
    artifacts,  # noqa: E402
    intervals,  # noqa: E402
)

METRICS = ("example_count", "auc", "binary_accuracy", "precision", "recall")  # TFMA's names.


class Fitted:
    """A table that fits the page: long values (image addresses, class paths, lists of tasks, artifact
    folders) may break after `/ . , _ - :` that follow a letter (<wbr>, which JupyterLab, Colab and GitHub keep in an
    untrusted output, where a <style> is dropped), instead of pushing the table past the notebook's
    right edge. Its text form is the frame's own (papermill's text output, nbval, a terminal)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    @staticmethod
    def _breakable(value) -> str:
        return re.sub(r"(?<=[A-Za-z])([/.,_:-])(?=\w)", r"\1<wbr>", html.escape(str(value)))  # Not in 0.611.

    def _repr_html_(self) -> str:
        frame = self.frame.apply(lambda column: column.map(self._breakable))
        frame.index = frame.index.map(self._breakable).rename(self.frame.index.name)
        return frame.to_html(escape=False)

    def __repr__(self) -> str:
        return repr(self.frame)


def facets_draws() -> bool:
    """Whether TFDV's Facets Overview (`context.show(statistics)`) can draw in this notebook.

    It is HTML that loads its JavaScript from the web when the output is displayed. Colab runs
    it; JupyterLab does not run scripts in outputs, and a saved notebook has none to run, so there
    it leaves two headings over an empty area. Where this is False, show `statistics_table`.
    """
    return "google.colab" in sys.modules


def statistics_table(statistics_uri: str, split: str = "train") -> pd.DataFrame:
    """One row per feature of StatisticsGen's output: present, missing, distinct, top value, mean."""
    statistics = artifacts.read_split_statistics(statistics_uri)
    if split not in statistics:
        raise FileNotFoundError(f"{statistics_uri} has no {split!r} split (it has {sorted(statistics)})")
    dataset = statistics[split].datasets[0]
    rows = []
    for feature in dataset.features:
        text = feature.HasField("string_stats")
        common = feature.string_stats.common_stats if text else feature.num_stats.common_stats
        top = feature.string_stats.top_values[0].value if text and feature.string_stats.top_values else None
        rows.append(
            {
                "feature": ".".join(feature.path.step) or feature.name,
                "type": "text" if text else "number",
                "present": common.num_non_missing,
                "missing": common.num_missing,
                "distinct": feature.string_stats.unique if text else None,
                "top value": top[:40] if top else None,
                "mean": round(feature.num_stats.mean, 3) if not text else None,
                "mean length": round(feature.string_stats.avg_length, 1) if text else None,
            }
        )
    table = pd.DataFrame(rows).set_index("feature").sort_index()
    table.attrs["examples"] = dataset.num_examples
    return table


def anomalies_table(anomalies_uri: str) -> pd.DataFrame:
    """ExampleValidator's anomalies, one row per split and feature; no rows when there are none."""
    rows = []
    for split, anomalies in artifacts.read_split_anomalies(anomalies_uri).items():
        for feature, info in sorted(anomalies.anomaly_info.items()):
            for reason in info.reason:
                rows.append(
                    {
                        "split": split,
                        "feature": feature,
                        "anomaly": reason.short_description,
                        "detail": reason.description,
                    }
                )
    return pd.DataFrame(rows, columns=["split", "feature", "anomaly", "detail"])


def schema_rules(feature: schema_pb2.Feature, schema: schema_pb2.Schema) -> str:
    """What a schema says about one feature, in words."""
    rules = ["every row" if feature.presence.min_fraction == 1.0 else "may be blank"]
    if feature.HasField("domain"):
        [domain] = [d for d in schema.string_domain if d.name == feature.domain]
        rules.append(f"only the {len(domain.value)} values seen")
    elif feature.HasField("string_domain"):
        rules.append(f"closed: {', '.join(feature.string_domain.value)}")
    elif feature.HasField("int_domain"):
        rules.append(f"integers {feature.int_domain.min}..{feature.int_domain.max}")
    elif feature.HasField("bool_domain"):
        rules.append("0 or 1 (bool)")
    if feature.not_in_environment:
        rules.append("not in " + ", ".join(feature.not_in_environment))
    comparator = feature.drift_comparator
    if comparator.HasField("infinity_norm"):
        rules.append(f"drift (L-infinity) at most {comparator.infinity_norm.threshold:g}")
    if comparator.HasField("jensen_shannon_divergence"):
        rules.append(f"drift (Jensen-Shannon) at most {comparator.jensen_shannon_divergence.threshold:g}")
    return "; ".join(rules)


def schema_comparison(schemas: dict[str, schema_pb2.Schema]) -> pd.DataFrame:
    """One row per feature, one column per schema ({title: schema}): its rules in words."""
    features = sorted({feature.name for schema in schemas.values() for feature in schema.feature})
    table = {}
    for title, schema in schemas.items():
        by_name = {feature.name: feature for feature in schema.feature}
        table[title] = [schema_rules(by_name[name], schema) if name in by_name else "(absent)" for name in features]
    return pd.DataFrame(table, index=pd.Index(features, name="feature"))


def sliced_metrics(eval_result) -> pd.DataFrame:
    """TFMA's metrics per slice (a `tfma.load_eval_result` result), overall first, then by count, with
    the disputed examples and the AUC's 95% interval (pipeline_tools/intervals.py) of each slice."""
    rows = []
    for slice_key, values in artifacts.slice_metrics(eval_result):
        row = {"slice": "overall" if not slice_key else " & ".join(f"{key} = {value}" for key, value in slice_key)}
        count = int(values.get("example_count") or 0)
        positives = round((values.get("mean_label") or 0.0) * count)
        row.update(example_count=count, disputed=positives)
        for name in METRICS[1:]:
            row[name] = values.get(name)
        low, high = intervals.auc_interval(row["auc"] or 0.0, positives, count - positives)
        row.update(auc_low=low, auc_high=high)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("slice")
    order = ["overall"] + [
        name for name in table.sort_values("example_count", ascending=False).index if name != "overall"
    ]
    columns = ["example_count", "disputed", "auc", "auc_low", "auc_high", *METRICS[2:]]
    return table.loc[[name for name in order if name in table.index], columns]


def plot_auc_by_slice(table: pd.DataFrame, min_examples: int = 1):
    """The AUC of each slice as a point with its 95% interval, the overall AUC as a line, chance at 0.5.

    Slices with fewer than min_examples are left out: an AUC of 3 complaints (or of a slice with
    no dispute at all, which TFMA reports as 0) says nothing.
    """
    slices = table.drop(index="overall", errors="ignore")
    slices = slices[(slices["example_count"] >= min_examples) & (slices["disputed"] > 0)].sort_values("auc")
    figure, axes = plt.subplots(figsize=(7, 0.4 * len(slices) + 1.8))
    names = [name.split(" = ", 1)[-1] for name in slices.index]
    spread = [slices["auc"] - slices["auc_low"], slices["auc_high"] - slices["auc"]]
    axes.errorbar(slices["auc"], names, xerr=spread, fmt="o", color="#4c72b0", capsize=3)
    for position, (_, row) in enumerate(slices.iterrows()):
        axes.text(
            row["auc_high"] + 0.01,
            position,
            f"{row['auc']:.2f} (n={int(row['example_count'])})",
            va="center",
            fontsize=8,
        )
    axes.axvline(0.5, color="#b22222", linestyle=":", label="chance (0.5)")
    if "overall" in table.index and pd.notna(table.loc["overall", "auc"]):
        overall = table.loc["overall"]
        axes.axvspan(overall["auc_low"], overall["auc_high"], color="black", alpha=0.08)
        axes.axvline(overall["auc"], color="black", linestyle="--", label="overall, with its interval")
    # Below the axes: inside, it would hide a slice's label (the intervals reach from 0.3 to 1).
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8, frameon=False)
    axes.set_xlabel("AUC, with its 95% interval")
    axes.set_xlim(0, 1.15)
    shown = f", slices with at least {min_examples} examples" if min_examples > 1 else ""
    axes.set_title(f"AUC by product (eval split{shown})")
    figure.tight_layout()
    return figure


def raw_and_transformed(transform_output, serialized: bytes, transformed_name) -> pd.DataFrame:
    """One raw tf.Example beside what the Transform graph makes of it (the graph serving applies too):
    a row per raw column, with the transformed feature `transformed_name(column)` (or the column itself)."""
    raw = tf.io.parse_example(tf.constant([serialized]), transform_output.raw_feature_spec())
    transformed = transform_output.transform_features_layer()(raw)

    def values(tensor) -> list:
        tensor = tensor.values if isinstance(tensor, tf.SparseTensor) else tensor
        return [v.decode() if isinstance(v, bytes) else v.item() for v in tensor.numpy().ravel()]

    rows = []
    for column in sorted(raw):
        name = transformed_name(column) if transformed_name(column) in transformed else column
        found, made = values(raw[column]), values(transformed[name]) if name in transformed else []
        shown = str(found[0]) if found else "(missing)"
        ids = [value for value in made if value != 0] if len(made) > 1 else made  # A narrative: 0 pads it.
        made_text = f"{len(ids)} token ids: {ids[:10]}..." if len(made) > 1 else str(made[0] if made else "")
        rows.append({"raw column": column, "raw value": shown[:70], "transformed feature": name, "value": made_text})
    return pd.DataFrame(rows).set_index("raw column")


def training_record(model_run_dir: str) -> dict | None:
    """What run_fn wrote about its training (module.TRAINING_RECORD): how long it trained, and why."""
    path = os.path.join(model_run_dir, module.TRAINING_RECORD)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as handle:
        return json.load(handle)


def training_curves(model_run_dir: str) -> pd.DataFrame:
    """The Trainer's TensorBoard scalars (epoch_loss, epoch_auc, ...) as a table.

    Columns are (run, metric), run being `train` or `validation` (Keras's name for the eval split it
    measured); one row per measurement, indexed by the training step it came after.
    `attrs["record"]` holds the training record.
    """
    rows = []
    for path in tf.io.gfile.glob(os.path.join(model_run_dir, "*", "events.out.tfevents.*")):
        for serialized in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(serialized.numpy())
            for value in event.summary.value:
                if value.tag.startswith("epoch_"):
                    rows.append(
                        {
                            "run": os.path.basename(os.path.dirname(path)),
                            "epoch": event.step + 1,
                            "metric": value.tag[len("epoch_") :],
                            "value": float(tf.make_ndarray(value.tensor)),
                        }
                    )
    if not rows:
        raise FileNotFoundError(f"no TensorBoard scalars under {model_run_dir}")
    curves = pd.DataFrame(rows).pivot_table(index="epoch", columns=["run", "metric"], values="value")
    record = training_record(model_run_dir)
    if record:
        curves.index = curves.index * record["measurement_interval"]
        curves.index.name = "step"
    curves.attrs["record"] = record
    return curves


def plot_training_curves(curves: pd.DataFrame, metrics: Sequence[str] = ("loss", "auc")):
    """One panel per metric, train and eval, against the step; where training stopped as a line, and why on top."""
    figure, panels = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4))
    record = curves.attrs.get("record")
    for axes, metric in zip(list(panels) if len(metrics) > 1 else [panels], metrics, strict=True):
        for run in curves.columns.get_level_values("run").unique():
            if (run, metric) in curves.columns:
                axes.plot(curves.index, curves[(run, metric)], marker="o", markersize=3, label=run)
        if record:
            stopped = f"stopped: {'the budget' if record['limited_by'] == 'budget' else 'train_steps'}"
            axes.axvline(record["trained_steps"], color="black", linestyle="--", label=stopped)
        axes.set_title(metric)
        axes.set_xlabel(curves.index.name or "epoch")
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
    if record:
        figure.suptitle(record["reason"], fontsize=9)
    figure.tight_layout()
    return figure
