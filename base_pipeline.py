"""How the components connect: the CFPB dispute pipeline, shared by every way of running it.

`create_components` builds the components in order; the local notebook runs them one by one
with an InteractiveContext. `create_pipeline` wraps the same components in a TFX `Pipeline` for
LocalDagRunner (`python -m pipeline_tools.local_runner`) and KubeflowV2DagRunner (Vertex AI).
What a run does (steps, thresholds, schema, split, the gate, the Vertex AI switches) is one
`PipelineSettings` (pipeline_tools/settings.py); the paths are arguments.
"""

import dataclasses
import inspect
import os
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

# TFMA's config protos; TFMA 0.52 (tfx 1.21) no longer re-exports them as tfma.EvalConfig etc.
from tensorflow_model_analysis.proto import config_pb2 as tfma_config  # noqa: E402

# TFX's components from their own modules rather than `from tfx import v1`: tfx.v1 also imports
# every Google Cloud extension, Vertex AI's client among them, on every run. The extensions are
# imported (in _vertex_extensions) only when a Vertex AI switch is on.
from tfx.components import (  # noqa: E402
    CsvExampleGen,
    Evaluator,
    ExampleValidator,
    Pusher,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen  # noqa: E402
from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter  # noqa: E402
from tfx.dsl.component.experimental.decorators import component  # noqa: E402
from tfx.dsl.components.base.base_component import BaseComponent  # noqa: E402
from tfx.dsl.components.base.base_executor import BaseExecutor  # noqa: E402
from tfx.dsl.components.base.executor_spec import ExecutorClassSpec  # noqa: E402
from tfx.dsl.components.common.resolver import Resolver  # noqa: E402
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (  # noqa: E402
    LatestBlessedModelStrategy,
)
from tfx.orchestration.pipeline import Pipeline  # noqa: E402
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2  # noqa: E402
from tfx.types import Channel, standard_artifacts  # noqa: E402
from tfx.types.component_spec import ChannelParameter, ComponentSpec  # noqa: E402

from pipeline_tools import csv_check, data_gate, spans  # noqa: E402
from pipeline_tools.columns import LABEL  # noqa: E402
from pipeline_tools.settings import PipelineSettings, VertexServices  # noqa: E402
from pipeline_tools.vertex import undeploy  # noqa: E402

SPLITS = ("train", "eval")
SLICE_FEATURE_KEYS: tuple[str, ...] = ("product",)


@dataclasses.dataclass(frozen=True)
class PipelineComponents:
    """The pipeline's components, in the order they run."""

    example_gen: CsvExampleGen
    statistics_gen: StatisticsGen
    # SchemaGen (inferred from the data) or ImportSchemaGen (the curated schema/schema.pbtxt).
    schema_gen: SchemaGen | ImportSchemaGen
    example_validator: ExampleValidator
    # The latest model the Evaluator blessed (the one being served): the gate compares new data
    # with what it learned from, the Evaluator the new model with it.
    model_resolver: Resolver
    # Stops the run on anomalies or drift; None when the pipeline only reports them.
    data_gate: Any | None
    transform: Transform
    trainer: Trainer
    # The trained model with the statistics of the data it learned from beside it.
    training_statistics: Any
    evaluator: Evaluator
    pusher: Pusher
    # With a Vertex AI endpoint: undeploys the models left at 0% traffic after a push.
    endpoint_cleanup: Any | None = None

    def in_order(self) -> list:
        """Returns the components as a list, upstream first."""
        components = [getattr(self, field.name) for field in dataclasses.fields(self)]
        return [component for component in components if component is not None]

    def validation_stage(self) -> list:
        """The components up to the data gate: what a validate-only run runs."""
        return [self.example_gen, self.statistics_gen, self.schema_gen, self.example_validator] + (
            [self.model_resolver, self.data_gate] if self.data_gate is not None else []
        )


@component
def DataValidationGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    statistics: InputArtifact[standard_artifacts.ExampleStatistics],
    schema: InputArtifact[standard_artifacts.Schema],
    reference_statistics: Parameter[str],
    baseline_model: InputArtifact[standard_artifacts.Model] = None,
) -> None:
    """Fails, naming each feature and why, when ExampleValidator found anomalies, when eval drifted from
    train, or when train drifted from the data the served model (baseline_model) learned from."""
    served = baseline_model.uri if baseline_model is not None else None
    data_gate.check_artifacts(anomalies.uri, statistics.uri, schema.uri, served, reference_statistics)


class _AttachTrainingStatisticsSpec(ComponentSpec):
    PARAMETERS: dict = {}
    INPUTS = {
        "trained_model": ChannelParameter(type=standard_artifacts.Model),
        "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
    }
    OUTPUTS = {"model": ChannelParameter(type=standard_artifacts.Model)}


class _AttachTrainingStatisticsExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802 (TFX's name)
        [trained], [statistics], [model] = input_dict["trained_model"], input_dict["statistics"], output_dict["model"]
        data_gate.attach_training_statistics(trained.uri, statistics.uri, model.uri)


class AttachTrainingStatistics(BaseComponent):
    """The trained model with the statistics of the data it learned from beside it (for later gates).

    A class-based component, not a function component: under the InteractiveContext (tfx 1.16), a
    function component's output is written back to ML Metadata without its LIVE state when a later
    component reads it, and resolvers only return LIVE artifacts, so the next run would find no
    served model.
    """

    SPEC_CLASS = _AttachTrainingStatisticsSpec
    EXECUTOR_SPEC = ExecutorClassSpec(_AttachTrainingStatisticsExecutor)

    def __init__(self, trained_model: Channel, statistics: Channel):
        super().__init__(
            _AttachTrainingStatisticsSpec(
                trained_model=trained_model,
                statistics=statistics,
                model=Channel(type=standard_artifacts.Model),
            )
        )


def _python_source_step(name: str, image: str, module, arguments: list, inputs=None, outputs=None):
    """A container component for Vertex AI that runs one module's source (`python -c`) in the stock
    TFX image: the code travels in the blueprint, so there is no image to build."""
    from tfx.dsl.component.experimental import container_component

    return container_component.create_container_component(
        name=name,
        image=image,
        command=["python", "-c", inspect.getsource(module), *arguments],
        inputs=inputs or {},
        outputs=outputs or {},
    )


# The task's whole executor input (artifacts, their URIs and properties), filled in by Vertex AI.
_EXECUTOR_INPUT = ["--executor-input", "{{$}}"]


def container_data_gate(image: str, reference_statistics: str):
    """The gate as a container component (Vertex AI), running pipeline_tools/data_gate.py."""
    inputs = {
        "anomalies": standard_artifacts.ExampleAnomalies,
        "statistics": standard_artifacts.ExampleStatistics,
        "schema": standard_artifacts.Schema,
        "baseline_model": standard_artifacts.Model,
    }
    arguments = ["gate", "--reference", reference_statistics, *_EXECUTOR_INPUT]
    return _python_source_step("DataValidationGate", image, data_gate, arguments, inputs)


def container_attach_training_statistics(image: str):
    """AttachTrainingStatistics as a container component (Vertex AI), running pipeline_tools/data_gate.py."""
    inputs = {"trained_model": standard_artifacts.Model, "statistics": standard_artifacts.ExampleStatistics}
    outputs = {"model": standard_artifacts.Model}
    return _python_source_step(
        "AttachTrainingStatistics", image, data_gate, ["attach", *_EXECUTOR_INPUT], inputs, outputs
    )


def endpoint_cleanup(vertex: VertexServices):
    """A container component that undeploys the endpoint's idle models (pipeline_tools/vertex/undeploy.py)."""
    endpoint = vertex.endpoint
    arguments = ["--project", endpoint["project_id"], "--region", vertex.region]
    arguments += ["--endpoint-name", endpoint["endpoint_name"]] + (
        ["--keep-previous"] if vertex.keep_previous_model else []
    )
    return _python_source_step("UndeployIdleModels", vertex.image, undeploy, arguments)()


def check_inputs(settings: PipelineSettings, data_root: str, module_file: str) -> None:
    """Raises ValueError naming a local input that cannot work: a missing folder or module file,
    or the first CSV record CsvExampleGen could not read. Remote (gs://) paths are not checked."""
    if "://" not in data_root:
        if not os.path.isdir(data_root):
            raise ValueError(f"data_root {data_root!r} is not a folder")
        staged = spans.available(data_root)
        if staged and not settings.spans:
            raise ValueError(
                f"data_root {data_root!r} holds span folders: pass a range in settings.spans and the folder "
                "pipeline_tools.spans.stage makes (the runners and notebooks do it), not the spans themselves"
            )
        if settings.spans and not staged:
            raise ValueError(f"settings.spans is {settings.spans!r} but {data_root!r} holds no span-N folder")
        if settings.spans:
            folders = [os.path.join(data_root, f"span-{span}") for span in staged]
        elif settings.presplit:
            folders = [os.path.join(data_root, split) for split in SPLITS]
        else:
            folders = [data_root]
        for folder in folders:
            csv_check.check_csv_folder(folder)
    if "://" not in module_file and not os.path.isfile(module_file):
        raise ValueError(f"module_file {module_file!r} does not exist")


def eval_config(settings: PipelineSettings) -> tfma_config.EvalConfig:
    """Returns the TFMA config: metrics overall and by product, and the blessing thresholds."""
    auc_threshold = tfma_config.MetricThreshold(
        value_threshold=tfma_config.GenericValueThreshold(lower_bound={"value": settings.min_eval_auc}),
        # Against the last blessed model: a candidate more than max_auc_decrease worse fails.
        change_threshold=tfma_config.GenericChangeThreshold(
            direction=tfma_config.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -settings.max_auc_decrease - 1e-10},
        ),
    )
    # Gate on the overall slice only: a product with 8 eval rows has no stable AUC.
    overall_auc = tfma_config.PerSliceMetricThreshold(
        slicing_specs=[tfma_config.SlicingSpec()], threshold=auc_threshold
    )
    config = tfma_config.EvalConfig(
        model_specs=[tfma_config.ModelSpec(signature_name="serving_default", label_key=LABEL)],
        slicing_specs=[tfma_config.SlicingSpec()]
        + [tfma_config.SlicingSpec(feature_keys=[key]) for key in SLICE_FEATURE_KEYS],
        metrics_specs=[
            tfma_config.MetricsSpec(
                metrics=[
                    tfma_config.MetricConfig(class_name="ExampleCount"),
                    tfma_config.MetricConfig(class_name="AUC", per_slice_thresholds=[overall_auc]),
                    tfma_config.MetricConfig(class_name="BinaryAccuracy"),
                    tfma_config.MetricConfig(class_name="Precision"),
                    tfma_config.MetricConfig(class_name="Recall"),
                ]
            )
        ],
    )
    # Only the metrics above: skip re-computing the loss and metrics compiled into the model.
    config.options.include_default_metrics.value = False
    return config


def _example_gen(settings: PipelineSettings, data_root: str) -> CsvExampleGen:
    """CsvExampleGen over data_root: its newest span (`span-{SPAN}/*`, resolved when the run starts),
    or all its files; the split made by hash, or taken from train/ and eval/ folders."""
    if settings.presplit:
        splits = [example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*") for split in SPLITS]
        return CsvExampleGen(input_base=data_root, input_config=example_gen_pb2.Input(splits=splits))
    # Hash buckets make the split deterministic: the same rows go to eval on every run.
    split_config = example_gen_pb2.SplitConfig(
        splits=[
            example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=9),
            example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1),
        ]
    )
    output_config = example_gen_pb2.Output(split_config=split_config)
    if settings.spans:
        span = example_gen_pb2.Input.Split(name="single_split", pattern=spans.PATTERN)
        return CsvExampleGen(
            input_base=data_root, input_config=example_gen_pb2.Input(splits=[span]), output_config=output_config
        )
    return CsvExampleGen(input_base=data_root, output_config=output_config)


def _data_gate(settings: PipelineSettings, example_validator: ExampleValidator, served_model: Channel):
    """The gate between ExampleValidator and Transform (a container component on Vertex AI), or None."""
    if not settings.data_gate:
        return None
    validated = example_validator.inputs
    inputs = dict(
        anomalies=example_validator.outputs["anomalies"],
        statistics=validated["statistics"],
        schema=validated["schema"],
        baseline_model=served_model,
    )
    if settings.vertex:
        return container_data_gate(settings.vertex.image, settings.reference_statistics_path)(**inputs)
    return DataValidationGate(**inputs, reference_statistics=settings.reference_statistics_path)


def _training_statistics(settings: PipelineSettings, trainer: Trainer, statistics: Channel):
    """AttachTrainingStatistics after the Trainer (a container component on Vertex AI)."""
    attach = (
        container_attach_training_statistics(settings.vertex.image) if settings.vertex else AttachTrainingStatistics
    )
    return attach(trained_model=trainer.outputs["model"], statistics=statistics)


def _vertex_extensions():
    """TFX's Google Cloud extensions; imported only by a pipeline that uses Vertex AI services."""
    from tfx.v1.extensions import google_cloud_ai_platform

    return google_cloud_ai_platform


def _vertex_config(vertex: VertexServices, settings: dict[str, Any]) -> dict[str, Any]:
    """The custom_config that switches an extension component to Vertex AI in the region."""
    extensions = _vertex_extensions()
    return {extensions.ENABLE_VERTEX_KEY: True, extensions.VERTEX_REGION_KEY: vertex.region, **settings}


def _transform(examples, schema, module_file: str) -> Transform:
    """Transform, without its own statistics (of the raw and of the transformed data) and its
    analyzer cache: nothing here reads them (StatisticsGen already describes the data; the cache
    helps only a Transform wired to its previous run's cache), and each adds Beam stages that cost
    seconds at any data size (benchmarks/README.md: 25.5 s -> 19.2 s on data_local)."""
    return Transform(
        examples=examples,
        schema=schema,
        module_file=module_file,
        disable_statistics=True,
        disable_analyzer_cache=True,
    )


def _trainer(settings: PipelineSettings, module_file: str, transform: Transform, schema: Channel) -> Trainer:
    """The Trainer: in its own process or task, or as a Vertex AI custom job."""
    arguments = dict(
        module_file=module_file,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=trainer_pb2.TrainArgs(num_steps=settings.train_steps),
        eval_args=trainer_pb2.EvalArgs(num_steps=settings.eval_steps),
    )
    vertex = settings.vertex
    if vertex is None or vertex.training_job is None:
        return Trainer(**arguments)
    extensions = _vertex_extensions()
    return extensions.Trainer(
        **arguments, custom_config=_vertex_config(vertex, {extensions.TRAINING_ARGS_KEY: vertex.training_job})
    )


def _pusher(settings: PipelineSettings, model: Channel, evaluator: Evaluator, serving_model_dir: str) -> Pusher:
    """The Pusher: copies a blessed model into serving_model_dir, or deploys it to an endpoint."""
    arguments = dict(model=model, model_blessing=evaluator.outputs["blessing"])
    vertex = settings.vertex
    if vertex is None or vertex.endpoint is None:
        destination = pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
        return Pusher(**arguments, push_destination=pusher_pb2.PushDestination(filesystem=destination))
    extensions = _vertex_extensions()
    serving = {extensions.SERVING_ARGS_KEY: vertex.endpoint}
    if vertex.serving_image:
        serving[extensions.VERTEX_CONTAINER_IMAGE_URI_KEY] = vertex.serving_image
    return extensions.Pusher(**arguments, custom_config=_vertex_config(vertex, serving))


def _latest_blessed_model_resolver() -> Resolver:
    """The latest model the Evaluator blessed before: the baseline a new model is compared with."""
    return Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")


def _after_push(settings: PipelineSettings, pusher: Pusher):
    """With a Vertex AI endpoint, the step after the Pusher that undeploys idle models; else None."""
    if settings.vertex is None or settings.vertex.endpoint is None:
        return None
    cleanup = endpoint_cleanup(settings.vertex)
    cleanup.add_upstream_node(pusher)
    return cleanup


def create_components(
    settings: PipelineSettings,
    data_root: str,
    module_file: str,
    serving_model_dir: str,
    validate_only: bool = False,
) -> PipelineComponents:
    """Builds the components and wires each one's inputs to upstream outputs.

    Args:
      settings: What the run does (PipelineSettings: steps, thresholds, schema, split, gate, Vertex AI).
      data_root: Folder (local or gs://) of CSV files in the tutorial's columns.
      module_file: Path to module.py (preprocessing_fn and run_fn).
      serving_model_dir: Where the Pusher copies a blessed model, one version folder per push.
      validate_only: Build for a run that stops after the gate (`validation_stage()`): the gate
        is then not linked to Transform.
    """
    check_inputs(settings, data_root, module_file)
    example_gen = _example_gen(settings, data_root)
    examples = example_gen.outputs["examples"]
    statistics_gen = StatisticsGen(examples=examples)
    statistics = statistics_gen.outputs["statistics"]
    if settings.schema_path:
        schema_gen = ImportSchemaGen(schema_file=settings.schema_path)
    else:
        schema_gen = SchemaGen(statistics=statistics, infer_feature_shape=False)
    schema = schema_gen.outputs["schema"]
    example_validator = ExampleValidator(statistics=statistics, schema=schema)
    model_resolver = _latest_blessed_model_resolver()
    gate = _data_gate(settings, example_validator, model_resolver.outputs["model"])
    transform = _transform(examples, schema, module_file)
    if gate is not None and not validate_only:
        transform.add_upstream_node(gate)  # Transform, and so Trainer, wait for the gate.
    trainer = _trainer(settings, module_file, transform, schema)
    training_statistics = _training_statistics(settings, trainer, statistics)
    model = training_statistics.outputs["model"]
    evaluator = Evaluator(
        examples=examples,
        model=model,
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(settings),
    )
    pusher = _pusher(settings, model, evaluator, serving_model_dir)
    return PipelineComponents(
        example_gen=example_gen,
        statistics_gen=statistics_gen,
        schema_gen=schema_gen,
        example_validator=example_validator,
        model_resolver=model_resolver,
        data_gate=gate,
        transform=transform,
        trainer=trainer,
        training_statistics=training_statistics,
        evaluator=evaluator,
        pusher=pusher,
        endpoint_cleanup=_after_push(settings, pusher),
    )


def create_pipeline(
    settings: PipelineSettings,
    pipeline_root: str,
    data_root: str,
    module_file: str,
    serving_model_dir: str,
    beam_pipeline_args: list[str] | tuple[str, ...] = (),
    metadata_connection_config=None,
    validate_only: bool = False,
) -> Pipeline:
    """Returns the whole pipeline, ready for a DAG runner.

    Args:
      settings, data_root, module_file, serving_model_dir: As in `create_components`.
      pipeline_root: Folder (local or gs://) where every artifact is written.
      beam_pipeline_args: Options of the Beam-based components (ExampleGen, StatisticsGen,
        Transform, Evaluator): in-process DirectRunner locally, DataflowRunner on Google Cloud.
      metadata_connection_config: ML Metadata store (e.g. SQLite) for LocalDagRunner; None on
        Vertex AI, which keeps its own.
      validate_only: Run only the components up to the data gate: check new data before
        spending a Transform and a training on it.
    """
    components = create_components(settings, data_root, module_file, serving_model_dir, validate_only)
    return Pipeline(
        pipeline_name=settings.pipeline_name,
        pipeline_root=pipeline_root,
        components=components.validation_stage() if validate_only else components.in_order(),
        enable_cache=settings.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args),
    )
