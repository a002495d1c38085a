"""The data gate: stops a run before Transform and Trainer when the data broke the schema or drifted.

ExampleValidator compares each split's statistics with the schema and writes anomalies. The gate
adds the drift the schema's comparators measure (L-infinity for categories, Jensen-Shannon
divergence for the label):
  - of the eval split against the train split;
  - of this run's train split against the data the served model learned from: the latest blessed
    model (the Resolver's baseline) carries those statistics (training_statistics.py); before any
    model was blessed, against reference statistics committed next to the curated schema.
`verdict` decides, for the component, its Vertex AI step and the notebook alike; `check` prints
every distance it measured and raises `DataValidationError` listing every feature over its
threshold.
"""

import dataclasses
import os

import tensorflow as tf
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from pipeline_tools.components import artifacts
from pipeline_tools.components.training_statistics import TRAINING_STATISTICS

FIX_HINT = (
    "Fix the data (python -m pipeline_tools.prepare_data converts a CFPB export), or, if the change is "
    "intended, remake schema/schema.pbtxt with python -m pipeline_tools.schema and review the diff."
)
_DRIFT_TYPES = {
    anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
    anomalies_pb2.AnomalyInfo.COMPARATOR_NORMALIZED_ABSOLUTE_DIFFERENCE_HIGH,
}
Statistics = statistics_pb2.DatasetFeatureStatisticsList


class DataValidationError(RuntimeError):
    """The data broke the schema or drifted: the run stops before Transform and Trainer."""


@dataclasses.dataclass(frozen=True)
class DataVerdict:
    """What the gate found: every problem (none: the data passes), and each distance to the served data."""

    problems: tuple[str, ...]
    distances: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def message(self) -> str:
        """The error the gate raises, one problem per line."""
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"The data failed validation, so the run stops before Transform and Trainer:\n{lines}\n{FIX_HINT}"


def _reason_text(reason: anomalies_pb2.AnomalyInfo.Reason) -> str:
    if reason.description.startswith(reason.short_description):
        return reason.description
    return f"{reason.short_description}: {reason.description}"


def describe_anomalies(anomalies: anomalies_pb2.Anomalies, where: str) -> list[str]:
    """One line per feature: where, which feature, and TFDV's reasons."""
    lines = []
    for name, info in sorted(anomalies.anomaly_info.items()):
        reasons = "; ".join(_reason_text(reason) for reason in info.reason) or info.description
        lines.append(f"{where}, feature {name!r}: {reasons}")
    if anomalies.HasField("dataset_anomaly_info"):
        reasons = "; ".join(reason.description for reason in anomalies.dataset_anomaly_info.reason)
        lines.append(f"{where}, whole dataset: {reasons}")
    return lines


def _comparators_only(schema: schema_pb2.Schema) -> schema_pb2.Schema:
    """The schema's features that have a drift comparator, with nothing but that comparator."""
    kept = schema_pb2.Schema()
    for feature in schema.feature:
        if feature.HasField("drift_comparator"):
            copy = kept.feature.add(name=feature.name, type=feature.type)
            copy.drift_comparator.CopyFrom(feature.drift_comparator)
    return kept


def drift_anomalies(baseline: Statistics, current: Statistics, schema: schema_pb2.Schema) -> anomalies_pb2.Anomalies:
    """The schema's drift comparators applied to current against baseline: the findings, and
    every distance measured (`drift_skew_info`), nothing else (the full checks are ExampleValidator's)."""
    anomalies = tfdv.validate_statistics(current, _comparators_only(schema), previous_statistics=baseline)
    drifted = anomalies_pb2.Anomalies()
    for name, info in anomalies.anomaly_info.items():
        if any(reason.type in _DRIFT_TYPES for reason in info.reason):
            drifted.anomaly_info[name].CopyFrom(info)
    drifted.drift_skew_info.extend(anomalies.drift_skew_info)
    return drifted


def distances(anomalies: anomalies_pb2.Anomalies) -> list[str]:
    """Each measured distance against its threshold, as 'product: L-infinity 0.046 (at most 0.25)'."""
    names = {"L_INFTY": "L-infinity", "JENSEN_SHANNON_DIVERGENCE": "Jensen-Shannon divergence"}
    lines = []
    for info in sorted(anomalies.drift_skew_info, key=lambda info: ".".join(info.path.step)):
        for measurement in info.drift_measurements:
            kind = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name(measurement.type)
            lines.append(
                f"{'.'.join(info.path.step)}: {names.get(kind, kind)} {measurement.value:.4g} "
                f"(at most {measurement.threshold:g})"
            )
    return lines


def served_statistics(baseline_model_uri: str | None, reference_path: str) -> tuple[Statistics, str]:
    """What new data is compared with, and its name: the training statistics the served (latest
    blessed) model carries, or, before any model was blessed, the reference statistics."""
    if baseline_model_uri:
        carried = os.path.join(baseline_model_uri, TRAINING_STATISTICS)
        if tf.io.gfile.isdir(carried):
            return artifacts.read_split_statistics(carried)["train"], "the data the served model learned from"
    return artifacts.read_statistics(reference_path), "the reference statistics (no model was served yet)"


def verdict(
    statistics: dict[str, Statistics],
    schema: schema_pb2.Schema,
    served: tuple[Statistics, str] | None,
    anomalies: dict[str, anomalies_pb2.Anomalies] | None = None,
) -> DataVerdict:
    """The gate's decision: each split against the schema (ExampleValidator's `anomalies`, or, when
    None, the same validation made here from the statistics), eval against train, and train against
    `served` ((statistics, name): see served_statistics)."""
    if anomalies is None:
        anomalies = {
            split: tfdv.validate_statistics(found, schema, environment="TRAINING")
            for split, found in statistics.items()
        }
    problems: list[str] = []
    for split, found in sorted(anomalies.items()):
        problems += describe_anomalies(found, f"split {split!r}")
    for split in sorted(set(statistics) - {"train"}) if "train" in statistics else []:
        drifted = drift_anomalies(statistics["train"], statistics[split], schema)
        problems += describe_anomalies(drifted, f"split {split!r} against 'train'")
    measured: list[str] = []
    if served is not None and "train" in statistics:
        baseline, name = served
        drifted = drift_anomalies(baseline, statistics["train"], schema)
        problems += describe_anomalies(drifted, f"split 'train' against {name}")
        measured = [f"against {name}:"] + [f"  {line}" for line in distances(drifted)]
    return DataVerdict(tuple(problems), tuple(measured))


def read_verdict(
    anomalies_uri: str, statistics_uri: str, schema_uri: str, baseline_model_uri: str | None, reference_path: str
) -> DataVerdict:
    """The verdict on the artifacts in these folders (local or gs://)."""
    return verdict(
        artifacts.read_split_statistics(statistics_uri),
        artifacts.read_schema(schema_uri),
        served_statistics(baseline_model_uri, reference_path),
        anomalies=artifacts.read_split_anomalies(anomalies_uri),
    )


def check(found: DataVerdict) -> None:
    """Prints the distances the gate measured; raises DataValidationError listing every problem."""
    if found.distances:
        print("drift " + "\n".join(found.distances), flush=True)
    if not found.passed:
        raise DataValidationError(found.message())


@component
def DataValidationGate(  # noqa: N802 (a component is named as a class)
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    statistics: InputArtifact[standard_artifacts.ExampleStatistics],
    schema: InputArtifact[standard_artifacts.Schema],
    reference_statistics: Parameter[str],
    baseline_model: InputArtifact[standard_artifacts.Model] = None,
) -> None:
    """Fails, naming each feature and why, when ExampleValidator found anomalies, when eval drifted from
    train, or when train drifted from the data the served model (baseline_model) learned from."""
    served = baseline_model.uri if baseline_model is not None else None
    check(read_verdict(anomalies.uri, statistics.uri, schema.uri, served, reference_statistics))
