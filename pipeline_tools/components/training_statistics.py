"""The trained model with the statistics of the data it learned from beside it, for later gates.

As InfraValidator adds warm-up requests to a model, AttachTrainingStatistics copies the Trainer's
model and puts the statistics of its training data in `training_statistics/` (StatisticsGen's
layout). The Evaluator judges and the Pusher pushes this model; when a later run's Resolver finds
it as the served model, the data gate compares new data with those statistics. The copy also
records which Trainer output it came from (`trained_model`), so that a rerun whose Trainer was a
cache hit is recognised as the served model itself (model_gate.py).
"""

import os

from tfx.dsl.components.base.base_component import BaseComponent
from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.dsl.components.base.executor_spec import ExecutorClassSpec
from tfx.types import Channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec

from pipeline_tools.components import artifacts

TRAINING_STATISTICS = "training_statistics"  # The folder beside the SavedModel.
TRAINED_MODEL = "trained_model"  # The custom property naming the Trainer's model it copied.


def attach(trained_model_uri: str, statistics_uri: str, output_uri: str) -> None:
    """Copies the trained model into output_uri and its training statistics into output_uri/training_statistics."""
    artifacts.copy_tree(trained_model_uri, output_uri)
    artifacts.copy_tree(statistics_uri, os.path.join(output_uri, TRAINING_STATISTICS))


class _Spec(ComponentSpec):
    PARAMETERS: dict = {}
    INPUTS = {
        "trained_model": ChannelParameter(type=standard_artifacts.Model),
        "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
    }
    OUTPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}


class _Executor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802 (TFX's name)
        [trained], [statistics], [model] = input_dict["trained_model"], input_dict["statistics"], output_dict["model"]
        attach(trained.uri, statistics.uri, model.uri)
        model.set_string_custom_property(TRAINED_MODEL, trained.uri)


class AttachTrainingStatistics(BaseComponent):
    """The trained model with the statistics of the data it learned from beside it.

    A class-based component, not a function component: under the InteractiveContext (tfx 1.16), a
    function component's output is written back to ML Metadata without its LIVE state when a later
    component reads it, and resolvers only return LIVE artifacts, so the next run would find no
    served model.
    """

    SPEC_CLASS = _Spec
    EXECUTOR_SPEC = ExecutorClassSpec(_Executor)

    def __init__(self, trained_model: Channel, statistics: Channel):
        super().__init__(
            _Spec(trained_model=trained_model, statistics=statistics, model=Channel(type=standard_artifacts.Model))
        )
