"""The model gate: the blessing the Pusher obeys and the next run's Resolver reads.

The Evaluator scores the candidate (and the served model, the Resolver's baseline, on the same
examples) and blesses it when its thresholds are met. The model gate adds what the Evaluator
cannot see: a candidate that *is* the served model is not blessed again. That happens on every
rerun over unchanged data: the cached Trainer hands back the model that was pushed before, the
Resolver finds it as the served model, and without this gate the Pusher would push (and on
Vertex AI, upload and deploy) the same model a second time.

A blessing here is what TFX's Evaluator writes: a BLESSED or NOT_BLESSED file, and the custom
properties `blessed`, `current_model` and `current_model_id` that LatestBlessedModelStrategy
reads; `reason` says why, in words.
"""

import dataclasses
import os

import tensorflow as tf
from tfx.dsl.components.base.base_component import BaseComponent
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.components.base.executor_spec import ExecutorClassSpec
from tfx.types import Channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

from pipeline_tools.components.training_statistics import TRAINED_MODEL


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
class Decision:
    blessed: bool
    reason: str


def evaluator_blessed(blessing_uri: str) -> bool:
    """Whether the Evaluator wrote BLESSED into its blessing artifact's folder."""
    return tf.io.gfile.exists(os.path.join(blessing_uri, "BLESSED"))


def decide(blessed_by_evaluator: bool, candidate: ModelRef, served: ModelRef | None) -> Decision:
    """Bless the candidate when the Evaluator did, unless it is the model being served already."""
    if candidate.same_model_as(served):
        return Decision(False, "not pushed again: the candidate is the model being served (same trained model)")
    if not blessed_by_evaluator:
        return Decision(False, "the Evaluator did not bless it")
    return Decision(True, "the Evaluator blessed it" + ("" if served else "; no model was served before"))


def write_blessing(blessing_uri: str, decision: Decision) -> None:
    """The file the Pusher and readers of the blessing look for."""
    tf.io.gfile.makedirs(blessing_uri)
    name = "BLESSED" if decision.blessed else "NOT_BLESSED"
    with tf.io.gfile.GFile(os.path.join(blessing_uri, name), "w") as handle:
        handle.write("")


def blessing_properties(decision: Decision, candidate: ModelRef, served: ModelRef | None) -> dict:
    """The blessing's custom properties, but for current_model_id (an id locally, a name on Vertex AI)."""
    properties = {"blessed": int(decision.blessed), "current_model": candidate.uri, "reason": decision.reason}
    if served is not None:
        properties["baseline_model"] = served.uri
    return properties


class _Spec(ComponentSpec):
    PARAMETERS: dict = {}
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "evaluator_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        "baseline_model": ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {"blessing": ChannelParameter(type=standard_artifacts.ModelBlessing)}


def _reference(model) -> ModelRef:
    trained = model.get_string_custom_property(TRAINED_MODEL) if model.has_custom_property(TRAINED_MODEL) else ""
    return ModelRef(model.uri, trained)


class _Executor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802 (TFX's name)
        [model], [evaluated], [blessing] = (
            input_dict["model"],
            input_dict["evaluator_blessing"],
            output_dict["blessing"],
        )
        baseline = input_dict.get("baseline_model") or []
        candidate, served = _reference(model), (_reference(baseline[0]) if baseline else None)
        decision = decide(evaluator_blessed(evaluated.uri), candidate, served)
        write_blessing(blessing.uri, decision)
        for key, value in blessing_properties(decision, candidate, served).items():
            setter = blessing.set_int_custom_property if isinstance(value, int) else blessing.set_string_custom_property
            setter(key, value)
        blessing.set_int_custom_property("current_model_id", model.id)
        print(f"model gate: {'blessed' if decision.blessed else 'NOT blessed'}: {decision.reason}", flush=True)


class ModelGate(BaseComponent):
    """Blesses the candidate model for the Pusher, or says why not (a class-based component, as
    AttachTrainingStatistics, so that its blessing keeps its LIVE state for the next run's Resolver)."""

    SPEC_CLASS = _Spec
    EXECUTOR_SPEC = ExecutorClassSpec(_Executor)

    def __init__(self, model: Channel, evaluator_blessing: Channel, baseline_model: Channel | None = None):
        super().__init__(
            _Spec(
                model=model,
                evaluator_blessing=evaluator_blessing,
                baseline_model=baseline_model,
                blessing=Channel(type=standard_artifacts.ModelBlessing),
            )
        )
