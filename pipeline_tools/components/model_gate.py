"""The model gate: the blessing the Pusher obeys and the next run's Resolver reads, given on evidence only.

The Evaluator measures (TFMA: AUC, accuracy, precision, recall, the share of disputes, overall and
by product, for the candidate and, on the same examples, for the served model); it blesses nothing
itself (its config has no thresholds). A threshold on one number cannot weigh evidence: on 263
eval complaints an AUC of 0.56 is as likely chance as skill (intervals.py). So the gate decides,
rule by rule, and every rule that fails is a reason in words:

  1. enough evidence: at least `min_examples` eval examples and `min_positives` disputed ones;
  2. better than chance: the AUC's 95% interval lies above `min_auc` (0.5 is chance);
  3. not worse than the served model beyond the noise: the 95% interval of the change of AUC on
     the same examples does not lie wholly below 0;
  4. not the served model itself: a rerun whose Trainer came from the cache is not pushed again.

Its blessing is what TFX's Evaluator would write: a BLESSED or NOT_BLESSED file and the custom
properties `blessed`, `current_model` and `current_model_id` that LatestBlessedModelStrategy reads.
`verdict.json` beside the file keeps the evidence, the rules and the reasons (`Verdict.read`).
"""

import dataclasses
import json
import math
import os

import tensorflow as tf
from tfx.dsl.components.base.base_component import BaseComponent
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.components.base.executor_spec import ExecutorClassSpec
from tfx.types import Channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from pipeline_tools.components import artifacts, intervals
from pipeline_tools.components.training_statistics import TRAINED_MODEL

VERDICT_FILE = "verdict.json"


@dataclasses.dataclass(frozen=True)
class Rules:
    """What the gate asks of the evidence (PipelineSettings: min_eval_auc, min_eval_examples, min_eval_positives)."""

    min_auc: float
    min_examples: int
    min_positives: int


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """A model as the gate compares it: its folder, and the Trainer output it was copied from."""

    uri: str
    trained_model: str = ""

    def same_model_as(self, other: "ModelRef | None") -> bool:
        """The same artifact, or a copy of the same Trainer output (a cached Trainer: the same training inputs)."""
        if other is None:
            return False
        return self.uri == other.uri or bool(self.trained_model) and self.trained_model == other.trained_model


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the Evaluator measured on the overall slice, with 95% intervals (intervals.py)."""

    examples: int
    positives: int
    auc: float
    auc_interval: tuple[float, float]
    baseline_auc: float | None = None  # The served model's AUC on the same examples.
    change_interval: tuple[float, float] | None = None

    @classmethod
    def read(cls, evaluation_uri: str) -> "Evidence":
        """From the Evaluator's evaluation artifact: TFMA's overall metrics (and auc_diff, with a served model)."""
        import tensorflow_model_analysis as tfma

        value = artifacts.overall_metrics(tfma.load_eval_result(evaluation_uri))
        examples = int(value.get("example_count") or 0)
        positives = round((value.get("mean_label") or 0.0) * examples)
        auc = value.get("auc")
        auc = float("nan") if auc is None else auc
        found = cls(examples, positives, auc, intervals.auc_interval(auc, positives, examples - positives))
        if value.get("auc_diff") is None:
            return found
        baseline = auc - value["auc_diff"]
        change = intervals.change_interval(auc, baseline, positives, examples - positives)
        return dataclasses.replace(found, baseline_auc=baseline, change_interval=change)

    def measured(self) -> str:
        low, high = self.auc_interval
        return (
            f"AUC {self.auc:.3f} (95% interval {low:.3f} to {high:.3f}) on {self.examples} eval examples, "
            f"{self.positives} disputed"
        )

    def compared(self) -> str:
        """The candidate against the served model, when there was one."""
        if self.baseline_auc is None or self.change_interval is None:
            return "no model was served before: no comparison"
        down, up = self.change_interval
        return (
            f"the served model scores AUC {self.baseline_auc:.3f} on the same examples: change "
            f"{self.auc - self.baseline_auc:+.3f} (95% interval {down:+.3f} to {up:+.3f})"
        )


def decide(evidence: Evidence, rules: Rules, candidate: ModelRef, served: ModelRef | None) -> tuple[bool, list[str]]:
    """(blessed, reasons): the four rules of the module's docstring; every one that fails is a reason."""
    if candidate.same_model_as(served):
        return False, ["not pushed again: the candidate is the model being served (the same trained model)"]
    failed = []
    if evidence.examples < rules.min_examples or evidence.positives < rules.min_positives:
        failed.append(
            f"too few examples to tell this model from chance: {evidence.examples} eval examples, "
            f"{evidence.positives} disputed (min_eval_examples {rules.min_examples}, "
            f"min_eval_positives {rules.min_positives})"
        )
    low = evidence.auc_interval[0]
    if math.isnan(evidence.auc) or min(evidence.positives, evidence.examples - evidence.positives) < 1:
        failed.append("no AUC: the eval split needs disputed and undisputed examples")
    elif low < rules.min_auc:
        floor = "0.5: chance" if rules.min_auc == 0.5 else f"min_eval_auc {rules.min_auc:.3f}"
        failed.append(f"the AUC's 95% interval reaches down to {low:.3f}, below {floor}")
    if evidence.change_interval is not None and evidence.change_interval[1] < 0:
        failed.append("worse than the served model beyond the noise: the change's whole interval is below 0")
    if failed:
        return False, failed
    floor = "0.5 (chance)" if rules.min_auc == 0.5 else f"min_eval_auc {rules.min_auc:.3f}"
    passed = f"the AUC's 95% interval lies above {floor}"
    if evidence.change_interval is not None:
        passed += "; against the served model, no drop beyond the noise"
    return True, [passed]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The gate's decision on one candidate, with its evidence and rules (verdict.json)."""

    blessed: bool
    reasons: tuple[str, ...]
    evidence: Evidence
    rules: Rules

    @property
    def auc(self) -> float:
        return self.evidence.auc

    @property
    def baseline_auc(self) -> float | None:
        return self.evidence.baseline_auc

    def __str__(self) -> str:
        """The decision in words; for a model that was not blessed, why and what to try."""
        head = f"{'blessed' if self.blessed else 'NOT blessed'}: {self.evidence.measured()}"
        lines = [head, self.evidence.compared(), *(f"  - {reason}" for reason in self.reasons)]
        if not self.blessed and not self.reasons[0].startswith("not pushed again"):
            lines.append(
                "What to try: more data (more eval examples narrow the interval; the eval split is a third of "
                "the rows), a different train_steps (the training curves show whether it stopped early or "
                "overfit). Lowering the bar (min_eval_auc, min_eval_examples) only hides the question."
            )
        return "\n".join(lines)

    def write(self, blessing_uri: str) -> None:
        """The BLESSED or NOT_BLESSED file the Pusher's readers look for, and verdict.json beside it."""
        tf.io.gfile.makedirs(blessing_uri)
        with tf.io.gfile.GFile(os.path.join(blessing_uri, "BLESSED" if self.blessed else "NOT_BLESSED"), "w") as f:
            f.write("")
        with tf.io.gfile.GFile(os.path.join(blessing_uri, VERDICT_FILE), "w") as handle:
            handle.write(json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def read(cls, blessing_uri: str) -> "Verdict":
        """From a blessing the model gate wrote."""
        with tf.io.gfile.GFile(os.path.join(blessing_uri, VERDICT_FILE)) as handle:
            record = json.load(handle)
        evidence = record["evidence"]
        for key in ("auc_interval", "change_interval"):
            evidence[key] = tuple(evidence[key]) if evidence[key] is not None else None
        return cls(record["blessed"], tuple(record["reasons"]), Evidence(**evidence), Rules(**record["rules"]))


def judge(evaluation_uri: str, rules: Rules, candidate: ModelRef, served: ModelRef | None, blessing_uri: str) -> dict:
    """Reads the evidence, decides, writes the verdict and prints it: what the component and its Vertex AI
    step do. Returns the blessing's custom properties, but for current_model_id (an id locally, a name on
    Vertex AI)."""
    evidence = Evidence.read(evaluation_uri)
    blessed, reasons = decide(evidence, rules, candidate, served)
    verdict = Verdict(blessed, tuple(reasons), evidence, rules)
    verdict.write(blessing_uri)
    print(f"model gate: {verdict}", flush=True)
    properties = {"blessed": int(blessed), "current_model": candidate.uri, "reason": "; ".join(reasons)}
    if served is not None:
        properties["baseline_model"] = served.uri
    return properties


class _Spec(ComponentSpec):
    PARAMETERS = {
        "min_auc": ExecutionParameter(type=float),
        "min_examples": ExecutionParameter(type=int),
        "min_positives": ExecutionParameter(type=int),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "baseline_model": ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {"blessing": ChannelParameter(type=standard_artifacts.ModelBlessing)}


def _reference(model) -> ModelRef:
    trained = model.get_string_custom_property(TRAINED_MODEL) if model.has_custom_property(TRAINED_MODEL) else ""
    return ModelRef(model.uri, trained)


class _Executor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802 (TFX's name)
        [model], [evaluation], [blessing] = input_dict["model"], input_dict["evaluation"], output_dict["blessing"]
        baseline = input_dict.get("baseline_model") or []
        candidate, served = _reference(model), (_reference(baseline[0]) if baseline else None)
        rules = Rules(exec_properties["min_auc"], exec_properties["min_examples"], exec_properties["min_positives"])
        for key, value in judge(evaluation.uri, rules, candidate, served, blessing.uri).items():
            setter = blessing.set_int_custom_property if isinstance(value, int) else blessing.set_string_custom_property
            setter(key, value)
        blessing.set_int_custom_property("current_model_id", model.id)


class ModelGate(BaseComponent):
    """Blesses the candidate model for the Pusher on evidence, or says why not (class-based, as
    AttachTrainingStatistics, so that its blessing keeps its LIVE state for the next run's Resolver)."""

    SPEC_CLASS = _Spec
    EXECUTOR_SPEC = ExecutorClassSpec(_Executor)

    def __init__(self, model: Channel, evaluation: Channel, rules: Rules, baseline_model: Channel | None = None):
        super().__init__(
            _Spec(
                model=model,
                evaluation=evaluation,
                baseline_model=baseline_model,
                min_auc=rules.min_auc,
                min_examples=rules.min_examples,
                min_positives=rules.min_positives,
                blessing=Channel(type=standard_artifacts.ModelBlessing),
            )
        )
