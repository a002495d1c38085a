"""How the components connect: the CFPB dispute pipeline, shared by every way of running it.

Each component is built by a small function below, in the order they run (the local notebook runs
them one by one and shows these functions); `create_components` wires them together and
`create_pipeline` makes them a TFX `Pipeline` for LocalDagRunner and KubeflowV2DagRunner (Vertex AI).
What a run does is one `PipelineSettings` (pipeline_tools/settings.py); the paths are arguments.
"""

import dataclasses
import os
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

# TFMA's config protos; TFMA 0.52 (tfx 1.21) no longer re-exports them as tfma.EvalConfig etc.
from tensorflow_model_analysis.proto import config_pb2 as tfma_config  # noqa: E402

# Not `from tfx import v1`, which imports every Google Cloud extension (Vertex AI's client too) on every
# run: pipeline_tools/vertex/services.py imports them only when a Vertex AI switch is on.
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
from tfx.dsl.components.common.resolver import Resolver  # noqa: E402
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy  # noqa: E402
from tfx.orchestration.pipeline import Pipeline  # noqa: E402
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2  # noqa: E402
from tfx.types import Channel, standard_artifacts  # noqa: E402

from pipeline_tools import spans  # noqa: E402
from pipeline_tools.columns import LABEL  # noqa: E402
from pipeline_tools.components import vertex_steps  # noqa: E402
from pipeline_tools.components.data_gate import DataValidationGate  # noqa: E402
from pipeline_tools.components.model_gate import ModelGate, Rules  # noqa: E402
from pipeline_tools.components.training_statistics import AttachTrainingStatistics  # noqa: E402
from pipeline_tools.csv_check import check_inputs  # noqa: E402
from pipeline_tools.settings import PipelineSettings  # noqa: E402
from pipeline_tools.vertex import services as vertex_services  # noqa: E402

SPLITS = ("train", "eval")
SLICE_FEATURE_KEYS: tuple[str, ...] = ("product",)


def example_gen(settings: PipelineSettings, data_root: str) -> CsvExampleGen:
    """CsvExampleGen over data_root: its newest span (`span-{SPAN}/*`, resolved when the run starts),
    or all its files; the split made by a hash of each row, or taken from train/ and eval/ folders."""
    if settings.presplit:
        splits = [example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*") for split in SPLITS]
        return CsvExampleGen(input_base=data_root, input_config=example_gen_pb2.Input(splits=splits))
    # A hash of each row picks its split, so a row stays in the same split in every later run: a
    # new model is never judged on rows an older one learned from. A third of the rows go to eval:
    # on data_local some 900 complaints, enough to tell an AUC of 0.6 from chance (model_gate.py).
    hash_split = example_gen_pb2.SplitConfig(
        splits=[
            example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=2),
            example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1),
        ]
    )
    output_config = example_gen_pb2.Output(split_config=hash_split)
    if not settings.spans:
        return CsvExampleGen(input_base=data_root, output_config=output_config)
    newest_span = example_gen_pb2.Input(
        splits=[example_gen_pb2.Input.Split(name="single_split", pattern=spans.PATTERN)]
    )
    return CsvExampleGen(input_base=data_root, input_config=newest_span, output_config=output_config)


def statistics_gen(examples: Channel) -> StatisticsGen:
    """StatisticsGen: TFDV's statistics of every column, per split."""
    return StatisticsGen(examples=examples)


def schema_gen(settings: PipelineSettings, statistics: Channel) -> SchemaGen | ImportSchemaGen:
    """The schema: the curated schema/schema.pbtxt (ImportSchemaGen), or one inferred from the statistics."""
    if settings.schema_path:
        return ImportSchemaGen(schema_file=settings.schema_path)
    return SchemaGen(statistics=statistics, infer_feature_shape=False)


def example_validator(statistics: Channel, schema: Channel) -> ExampleValidator:
    """ExampleValidator: each split's statistics against the schema."""
    return ExampleValidator(statistics=statistics, schema=schema)


def latest_blessed_model_resolver() -> Resolver:
    """The latest model the model gate blessed, the one being served: the baseline new data and new
    models are compared with (none on a first run)."""
    return Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")


def data_gate(settings: PipelineSettings, example_validator: ExampleValidator, served_model: Channel):
    """Stops the run before Transform on anomalies, on eval drifting from train, or on train drifting from
    the data the served model learned from; None when the pipeline only reports anomalies."""
    if not settings.data_gate:
        return None
    inputs = dict(
        anomalies=example_validator.outputs["anomalies"],
        statistics=example_validator.inputs["statistics"],
        schema=example_validator.inputs["schema"],
        baseline_model=served_model,
    )
    if settings.vertex:
        return vertex_steps.data_gate(settings.vertex.pipeline_image, settings.reference_statistics_path)(**inputs)
    return DataValidationGate(**inputs, reference_statistics=settings.reference_statistics_path)


def transform(settings: PipelineSettings, examples: Channel, schema: Channel, module_file: str) -> Transform:
    """Transform runs module.py's preprocessing_fn; without its own statistics and analyzer cache, which
    nothing here reads and which cost seconds at any data size (benchmarks/README.md)."""
    component = Transform(
        examples=examples, schema=schema, module_file=module_file, disable_statistics=True, disable_analyzer_cache=True
    )
    return vertex_services.with_user_code(component, settings.vertex) if settings.vertex else component


def trainer(settings: PipelineSettings, transform: Transform, schema: Channel, module_file: str) -> Trainer:
    """The Trainer runs module.py's run_fn: in its own process or task, or as a Vertex AI custom job."""
    arguments = dict(
        module_file=module_file,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        train_args=trainer_pb2.TrainArgs(num_steps=settings.train_steps),
        eval_args=trainer_pb2.EvalArgs(num_steps=settings.eval_steps),
    )
    if settings.vertex:  # In its task, or as a Vertex AI custom job (vertex/services.py).
        return vertex_services.trainer(arguments, settings.vertex)
    return Trainer(**arguments)


def training_statistics(settings: PipelineSettings, trainer: Trainer, statistics: Channel):
    """The trained model with its training data's statistics beside it, for the next run's data gate."""
    inputs = dict(trained_model=trainer.outputs["model"], statistics=statistics)
    if settings.vertex:
        return vertex_steps.training_statistics(settings.vertex.pipeline_image)(**inputs)
    return AttachTrainingStatistics(**inputs)


def eval_config() -> tfma_config.EvalConfig:
    """What the Evaluator measures, overall and by product: no thresholds, the model gate judges."""
    metrics = [
        tfma_config.MetricConfig(class_name=name)
        for name in ("ExampleCount", "MeanLabel", "AUC", "BinaryAccuracy", "Precision", "Recall")
    ]
    config = tfma_config.EvalConfig(
        model_specs=[tfma_config.ModelSpec(signature_name="serving_default", label_key=LABEL)],
        slicing_specs=[tfma_config.SlicingSpec()]
        + [tfma_config.SlicingSpec(feature_keys=[k]) for k in SLICE_FEATURE_KEYS],
        metrics_specs=[tfma_config.MetricsSpec(metrics=metrics)],
    )
    config.options.include_default_metrics.value = False  # Not the loss and metrics compiled into the model.
    return config


def evaluator(examples: Channel, model: Channel, served_model: Channel | None) -> Evaluator:
    """The Evaluator scores the candidate, and the served model on the same eval examples, with TFMA."""
    return Evaluator(examples=examples, model=model, baseline_model=served_model, eval_config=eval_config())


def model_gate(settings: PipelineSettings, model: Channel, evaluator: Evaluator, served_model: Channel | None):
    """The blessing the Pusher obeys: given on the Evaluator's evidence (rules in model_gate.py)."""
    rules = Rules(settings.min_eval_auc, settings.min_eval_examples, settings.min_eval_positives)
    inputs = dict(model=model, evaluation=evaluator.outputs["evaluation"], baseline_model=served_model)
    if settings.vertex:
        return vertex_steps.model_gate(settings.vertex.pipeline_image, rules)(**inputs)
    return ModelGate(**inputs, rules=rules)


def pusher(settings: PipelineSettings, model: Channel, model_gate, serving_model_dir: str) -> Pusher:
    """The Pusher: copies a blessed model into serving_model_dir, or deploys it to a Vertex AI endpoint."""
    arguments = dict(model=model, model_blessing=model_gate.outputs["blessing"])
    if settings.vertex and settings.vertex.endpoint:
        return vertex_services.endpoint_pusher(arguments, settings.vertex)
    destination = pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
    return Pusher(**arguments, push_destination=pusher_pb2.PushDestination(filesystem=destination))


def endpoint_cleanup(settings: PipelineSettings, pusher: Pusher):
    """With a Vertex AI endpoint: after each push, undeploys the models left at 0% traffic; else None."""
    if settings.vertex is None or settings.vertex.endpoint is None:
        return None
    return vertex_services.endpoint_cleanup(settings.vertex)(pushed_model=pusher.outputs["pushed_model"])


@dataclasses.dataclass(frozen=True)
class PipelineComponents:
    """The pipeline's components, in the order they run (None: not in this pipeline)."""

    example_gen: CsvExampleGen
    statistics_gen: StatisticsGen
    schema_gen: SchemaGen | ImportSchemaGen
    example_validator: ExampleValidator
    model_resolver: Resolver
    data_gate: Any | None
    transform: Transform
    trainer: Trainer
    training_statistics: Any
    evaluator: Evaluator
    model_gate: Any
    pusher: Pusher
    endpoint_cleanup: Any | None = None

    def in_order(self) -> list:
        """The components as a list, upstream first."""
        components = [getattr(self, field.name) for field in dataclasses.fields(self)]
        return [component for component in components if component is not None]

    def validation_stage(self) -> list:
        """The components up to the data gate: what a validate-only run runs."""
        stage = [self.example_gen, self.statistics_gen, self.schema_gen, self.example_validator]
        return stage + ([self.model_resolver, self.data_gate] if self.data_gate is not None else [])


def create_components(
    settings: PipelineSettings, data_root: str, module_file: str, serving_model_dir: str, validate_only: bool = False
) -> PipelineComponents:
    """Builds the components and wires each one's inputs to upstream outputs.

    data_root is a folder (local or gs://) of CSV files in the tutorial's columns; module_file is
    module.py; the Pusher copies a blessed model into serving_model_dir. With validate_only, the run
    stops after the data gate (`validation_stage()`), which is then not linked to Transform.
    """
    check_inputs(data_root, settings.spans, settings.presplit, module_file)
    examples_gen = example_gen(settings, data_root)
    examples = examples_gen.outputs["examples"]
    statistics = statistics_gen(examples)
    schema = schema_gen(settings, statistics.outputs["statistics"])
    validator = example_validator(statistics.outputs["statistics"], schema.outputs["schema"])
    resolver = latest_blessed_model_resolver()
    served_model = resolver.outputs["model"]
    gate = data_gate(settings, validator, served_model)
    transformed = transform(settings, examples, schema.outputs["schema"], module_file)
    if gate is not None and not validate_only:
        transformed.add_upstream_node(gate)  # Transform, and so Trainer, wait for the data gate.
    trained = trainer(settings, transformed, schema.outputs["schema"], module_file)
    with_statistics = training_statistics(settings, trained, statistics.outputs["statistics"])
    model = with_statistics.outputs["model"]
    evaluated = evaluator(examples, model, served_model)
    blessing = model_gate(settings, model, evaluated, served_model)
    pushed = pusher(settings, model, blessing, serving_model_dir)
    return PipelineComponents(
        examples_gen, statistics, schema, validator, resolver, gate, transformed, trained, with_statistics,
        evaluated, blessing, pushed, endpoint_cleanup(settings, pushed),
    )  # fmt: skip


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
    """The whole pipeline, ready for a DAG runner: every artifact under pipeline_root (local or gs://);
    the Beam components (ExampleGen, StatisticsGen, Transform, Evaluator) take beam_pipeline_args (none:
    DirectRunner in the component's process; DataflowRunner's on Google Cloud); ML Metadata in
    metadata_connection_config (None on Vertex AI, which keeps its own). The rest as in create_components.
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
