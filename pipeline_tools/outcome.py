"""What a run decided, in words: was the model blessed, which threshold it missed, what was pushed.

A model the Evaluator does not bless is an outcome, not a crash: the Pusher leaves the serving
folder as it was, and the reader (or an automated caller) needs the reason and what to try. The
local notebook prints `Outcome.describe()` and writes it to `outcome.txt` in its output folder,
where `make tutorial` shows it.
"""

import dataclasses
import os

import tensorflow_model_analysis as tfma

from pipeline_tools import serving


class NotBlessedError(RuntimeError):
    """The model was not blessed and the caller asked for that to fail the run."""


@dataclasses.dataclass(frozen=True)
class Failure:
    """One threshold the candidate model missed."""

    metric: str
    value: float
    against_baseline: bool  # A change threshold: value is the difference to the last blessed model.
    bound: float

    def describe(self) -> str:
        if self.against_baseline:
            return (
                f"{self.metric} is {self.value:+.3f} against the last blessed model; "
                f"the threshold allows at most {-self.bound:.3f} worse"
            )
        return f"{self.metric} = {self.value:.3f}, below the threshold {self.bound:.3f}"


def _bound(threshold) -> float:
    if threshold.HasField("change_threshold"):
        return threshold.change_threshold.absolute.value
    return threshold.value_threshold.lower_bound.value


def _overall(eval_result, metric: str) -> float | None:
    for slice_key, metrics in eval_result.slicing_metrics:
        if not slice_key:
            return metrics[""][""].get(metric, {}).get("doubleValue")
    return None


def _allowed_decrease(eval_config) -> float | None:
    """How much worse than the baseline the overall AUC may be, from the Evaluator's config."""
    for spec in eval_config.metrics_specs:
        for metric in spec.metrics:
            for per_slice in metric.per_slice_thresholds:
                if metric.class_name == "AUC" and per_slice.threshold.HasField("change_threshold"):
                    return round(-per_slice.threshold.change_threshold.absolute.value, 6)
    return None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The Evaluator's decision on one candidate model."""

    blessed: bool
    failures: tuple[Failure, ...]
    auc: float | None
    eval_examples: int | None
    # With a baseline (the model served before): its AUC on the same eval examples, and how much
    # worse than it the candidate may be (the change threshold, max_auc_decrease).
    baseline_auc: float | None = None
    allowed_decrease: float | None = None

    @classmethod
    def read(cls, evaluation_uri: str) -> "Verdict":
        """From the Evaluator's evaluation artifact (its metrics and validation result)."""
        validation = tfma.load_validation_result(evaluation_uri)
        failures = tuple(
            Failure(
                f.metric_key.name, f.metric_value.double_value.value, f.metric_key.is_diff, _bound(f.metric_threshold)
            )
            for per_slice in validation.metric_validations_per_slice
            for f in per_slice.failures
        )
        metrics = tfma.load_eval_result(evaluation_uri)
        count = _overall(metrics, "example_count")
        auc, change = _overall(metrics, "auc"), _overall(metrics, "auc_diff")
        baseline_auc = auc - change if auc is not None and change is not None else None
        return cls(
            validation.validation_ok,
            failures,
            auc,
            int(count) if count else None,
            baseline_auc,
            _allowed_decrease(metrics.config) if baseline_auc is not None else None,
        )

    @property
    def compared(self) -> str:
        """The candidate against the served model, when there was one."""
        if self.baseline_auc is None or self.auc is None:
            return "no model was served before: no comparison"
        allowed = f"; at most {self.allowed_decrease:.3f} worse allowed" if self.allowed_decrease is not None else ""
        return (
            f"the served model scores AUC {self.baseline_auc:.3f} on the same examples: "
            f"change {self.auc - self.baseline_auc:+.3f}{allowed}"
        )

    def describe(self) -> str:
        """The decision, and for a model that was not blessed, why and what to try."""
        measured = f"AUC {self.auc:.3f} on {self.eval_examples} eval examples" if self.auc is not None else "no AUC"
        if self.blessed:
            return f"blessed: {measured}, every threshold met\n{self.compared}"
        lines = [f"NOT blessed: {measured}", self.compared] + [f"  - {failure.describe()}" for failure in self.failures]
        lines.append(
            "What to try: more data (an eval split this small moves AUC by several points), more or fewer "
            "train_steps (the training curves show whether it stopped early or overfit), or a threshold that "
            "fits this data (-p min_eval_auc 0.5, -p max_auc_decrease 0.05)."
        )
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a run left: the verdict, what it pushed, and what the serving folder serves now."""

    verdict: Verdict
    pushed_version: str | None
    serving_model_dir: str

    @property
    def serving_version(self) -> str | None:
        versions = serving.pushed_versions(self.serving_model_dir)
        return versions[-1] if versions else None

    def describe(self) -> str:
        if self.pushed_version:
            pushed = f"pushed: version {self.pushed_version} in {self.serving_model_dir}"
        elif self.serving_version:
            pushed = f"not pushed: {self.serving_model_dir} keeps serving version {self.serving_version}"
        else:
            pushed = f"not pushed: {self.serving_model_dir} holds no model yet"
        return f"{self.verdict.describe()}\n{pushed}"

    @classmethod
    def of_run(cls, run, serving_model_dir: str) -> "Outcome":
        """From an ML Metadata run (pipeline_tools.metadata.Run): its Evaluator's evaluation, its Pusher's output."""
        from pipeline_tools.metadata import property_value

        evaluation = run.output("Evaluator", "evaluation")
        if evaluation is None:
            raise ValueError(f"run {run.name} has no evaluation: it stopped before the Evaluator")
        pushed = run.output("Pusher", "pushed_model")
        version = property_value(pushed, "pushed_version") if pushed and property_value(pushed, "pushed") else None
        return cls(Verdict.read(evaluation.uri), str(version) if version else None, serving_model_dir)

    def write(self, path: str) -> None:
        """Saves describe() as a text file (make tutorial prints it)."""
        write_report(path, [("", self)])


def write_report(path: str, runs: list[tuple[str, "Outcome"]]) -> str:
    """Saves each run's outcome under its title ('first run, spans ...') as one text file; returns the text."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    parts = [f"{title}:\n{result.describe()}" if title else result.describe() for title, result in runs]
    text = "\n\n".join(parts) + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return text
