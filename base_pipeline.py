"""How the components connect: the CFPB dispute pipeline, shared by every way of running it.

`create_components` builds the components in order; the local notebook runs them one by one
with an InteractiveContext. `create_pipeline` wraps the same components in a
`tfx.dsl.Pipeline` for LocalDagRunner (`pipeline_local.py`) and KubeflowV2DagRunner (the
Vertex AI notebook).
"""

import dataclasses
import inspect
import os
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # See module.py.

# TFMA's config protos; TFMA 0.52 (tfx 1.21) no longer re-exports them as tfma.EvalConfig etc.
from tensorflow_model_analysis.proto import config_pb2 as tfma_config  # noqa: E402
from tfx import v1 as tfx  # noqa: E402

import data_validation  # noqa: E402
from module import LABEL_KEY  # noqa: E402

PIPELINE_NAME = "cfpb-consumer-disputes"
TRAIN_STEPS = 500
EVAL_STEPS = 20
MIN_EVAL_AUC = 0.55
MAX_AUC_DECREASE = 0.01
SLICE_FEATURE_KEYS: list[str] = ["product"]
SPLITS = ("train", "eval")
LOCAL_BEAM_PIPELINE_ARGS: list[str] = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
CURATED_SCHEMA_FILE = data_validation.default_schema_file()


@dataclasses.dataclass(frozen=True)
class PipelineComponents:
    """The pipeline's components, in the order they run."""

    example_gen: tfx.components.CsvExampleGen
    statistics_gen: tfx.components.StatisticsGen
    # SchemaGen (inferred from the data) or ImportSchemaGen (the curated schema/schema.pbtxt).
    schema_gen: tfx.components.SchemaGen | tfx.components.ImportSchemaGen
    example_validator: tfx.components.ExampleValidator
    # Stops the run on anomalies or drift; None when the pipeline only reports them.
    data_gate: Any | None
    transform: tfx.components.Transform
    trainer: tfx.components.Trainer
    model_resolver: tfx.dsl.Resolver
    evaluator: tfx.components.Evaluator
    pusher: tfx.components.Pusher

    def in_order(self) -> list:
        """Returns the components as a list, upstream first."""
        components = [getattr(self, field.name) for field in dataclasses.fields(self)]
        return [component for component in components if component is not None]

    def validation_stage(self) -> list:
        """The components up to the data gate: what a validate-only run runs."""
        return [self.example_gen, self.statistics_gen, self.schema_gen, self.example_validator] + (
            [self.data_gate] if self.data_gate is not None else []
        )


@tfx.dsl.components.component
def DataValidationGate(
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    statistics: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleStatistics],
    schema: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Schema],
) -> None:
    """Fails, naming each feature and why, when ExampleValidator found anomalies or eval drifted."""
    data_validation.check_artifacts(anomalies.uri, statistics.uri, schema.uri)


def container_data_gate(image: str):
    """The same gate as a container component, for Vertex AI: the stock TFX image runs
    data_validation.py's source, carried in the blueprint (no custom image to build)."""
    # KubeflowV2DagRunner compiles the older placeholder classes (not tfx.dsl.placeholders).
    from tfx.dsl.component.experimental.placeholders import InputUriPlaceholder

    return tfx.dsl.experimental.create_container_component(
        name="DataValidationGate",
        image=image,
        command=[
            "python",
            "-c",
            inspect.getsource(data_validation),
            "--anomalies",
            InputUriPlaceholder("anomalies"),
            "--statistics",
            InputUriPlaceholder("statistics"),
            "--schema",
            InputUriPlaceholder("schema"),
        ],
        inputs={
            "anomalies": tfx.types.standard_artifacts.ExampleAnomalies,
            "statistics": tfx.types.standard_artifacts.ExampleStatistics,
            "schema": tfx.types.standard_artifacts.Schema,
        },
    )


def _is_local_path(path: str) -> bool:
    """True for a path on this machine, False for gs:// and other remote file systems."""
    return "://" not in path


def check_parameters(
    data_root: str,
    module_file: str,
    train_steps: int,
    eval_steps: int,
    min_eval_auc: float,
    max_auc_decrease: float,
    presplit: bool = False,
    schema_file: str | None = None,
) -> None:
    """Raises ValueError naming the first parameter that cannot work, or the first CSV record
    CsvExampleGen could not read (local data only)."""
    for name, steps in (("train_steps", train_steps), ("eval_steps", eval_steps)):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"{name} must be a positive integer, got {steps!r}")
    if not 0.0 <= min_eval_auc <= 1.0:
        raise ValueError(f"min_eval_auc must lie in [0, 1], got {min_eval_auc!r}")
    if not 0.0 <= max_auc_decrease <= 1.0:
        raise ValueError(f"max_auc_decrease must lie in [0, 1], got {max_auc_decrease!r}")
    if _is_local_path(data_root):
        if not os.path.isdir(data_root):
            raise ValueError(f"data_root {data_root!r} is not a folder")
        for folder in [os.path.join(data_root, split) for split in SPLITS] if presplit else [data_root]:
            if not os.path.isdir(folder) or not any(name.endswith(".csv") for name in os.listdir(folder)):
                raise ValueError(f"{folder!r} holds no .csv file for CsvExampleGen")
            data_validation.check_csv_folder(folder)
    if _is_local_path(module_file) and not os.path.isfile(module_file):
        raise ValueError(f"module_file {module_file!r} does not exist")
    if schema_file and _is_local_path(schema_file) and not os.path.isfile(schema_file):
        raise ValueError(f"schema_file {schema_file!r} does not exist")


def _eval_config(min_eval_auc: float, max_auc_decrease: float) -> tfma_config.EvalConfig:
    """Returns the TFMA config: metrics overall and by product, and the blessing thresholds."""
    auc_threshold = tfma_config.MetricThreshold(
        value_threshold=tfma_config.GenericValueThreshold(lower_bound={"value": min_eval_auc}),
        # Against the last blessed model: a candidate more than max_auc_decrease worse fails.
        change_threshold=tfma_config.GenericChangeThreshold(
            direction=tfma_config.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -max_auc_decrease - 1e-10},
        ),
    )
    eval_config = tfma_config.EvalConfig(
        model_specs=[tfma_config.ModelSpec(signature_name="serving_default", label_key=LABEL_KEY)],
        slicing_specs=[tfma_config.SlicingSpec()]
        + [tfma_config.SlicingSpec(feature_keys=[key]) for key in SLICE_FEATURE_KEYS],
        metrics_specs=[
            tfma_config.MetricsSpec(
                metrics=[
                    tfma_config.MetricConfig(class_name="ExampleCount"),
                    # Gate on the overall slice only: a product with 8 eval rows has no stable AUC.
                    tfma_config.MetricConfig(
                        class_name="AUC",
                        per_slice_thresholds=[
                            tfma_config.PerSliceMetricThreshold(
                                slicing_specs=[tfma_config.SlicingSpec()], threshold=auc_threshold
                            )
                        ],
                    ),
                    tfma_config.MetricConfig(class_name="BinaryAccuracy"),
                    tfma_config.MetricConfig(class_name="Precision"),
                    tfma_config.MetricConfig(class_name="Recall"),
                ]
            )
        ],
    )
    # Only the metrics above: skip re-computing the loss and metrics compiled into the model.
    eval_config.options.include_default_metrics.value = False
    return eval_config


def create_components(
    data_root: str,
    module_file: str,
    serving_model_dir: str,
    train_steps: int = TRAIN_STEPS,
    eval_steps: int = EVAL_STEPS,
    min_eval_auc: float = MIN_EVAL_AUC,
    max_auc_decrease: float = MAX_AUC_DECREASE,
    vertex_region: str | None = None,
    vertex_training_args: dict[str, Any] | None = None,
    vertex_serving_args: dict[str, Any] | None = None,
    vertex_serving_image: str | None = None,
    presplit: bool = False,
    schema_file: str | None = CURATED_SCHEMA_FILE,
    stop_on_data_problems: bool = True,
    data_gate_image: str | None = None,
    validate_only: bool = False,
) -> PipelineComponents:
    """Builds the components and wires each one's inputs to upstream outputs.

    Args:
      data_root: Folder (local or gs://) of CSV files in the tutorial schema.
      module_file: Path to module.py (preprocessing_fn and run_fn).
      serving_model_dir: Where Pusher copies a blessed model, one version folder per push.
      train_steps: Training batches the Trainer runs.
      eval_steps: Evaluation batches the Trainer runs after training.
      min_eval_auc: The Evaluator blesses a model only if its eval-split AUC reaches this.
      max_auc_decrease: ...and only if its AUC is at most this much below the last blessed one.
      vertex_region: Google Cloud region of the Vertex AI training job and endpoint.
      vertex_training_args: When set, the Trainer runs `run_fn` as a Vertex AI custom job with
        these arguments (e.g. a worker_pool_specs list with machine type and accelerators).
      vertex_serving_args: When set, the Pusher deploys the blessed model to a Vertex AI
        endpoint with these arguments (endpoint_name, machine_type, ...) instead of copying it
        to serving_model_dir.
      vertex_serving_image: The prediction container the endpoint serves the model with (a
        Vertex AI prebuilt TensorFlow image); only with vertex_serving_args.
      presplit: Take the split from the data instead of making one: data_root holds a `train/`
        and an `eval/` folder of CSV files (e.g. older complaints to train, newer to evaluate).
      schema_file: The curated schema ImportSchemaGen reads (local or gs://); None infers one
        from the data with SchemaGen instead, as the teaching notebook does.
      stop_on_data_problems: Put the data gate between ExampleValidator and Transform: the run
        fails there, naming each feature and why, when the data breaks the schema or the eval
        split drifted from the train split. False only reports anomalies.
      data_gate_image: Run the gate as a container component in this image (Vertex AI: the
        TFX image) instead of in the orchestrator's process (LocalDagRunner, notebooks).
      validate_only: Build for a run that stops after the gate (`validation_stage()`): the
        gate is then not linked to Transform.
    """
    check_parameters(
        data_root, module_file, train_steps, eval_steps, min_eval_auc, max_auc_decrease, presplit, schema_file
    )
    if (vertex_training_args or vertex_serving_args) and not vertex_region:
        raise ValueError("vertex_region is required with vertex_training_args or vertex_serving_args")
    if vertex_serving_image and not vertex_serving_args:
        raise ValueError("vertex_serving_image needs vertex_serving_args: the image serves the endpoint's model")

    if presplit:
        example_gen = tfx.components.CsvExampleGen(
            input_base=data_root,
            input_config=tfx.proto.Input(
                splits=[tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in SPLITS]
            ),
        )
    else:
        # Hash buckets make the split deterministic: the same rows go to eval on every run.
        example_gen = tfx.components.CsvExampleGen(
            input_base=data_root,
            output_config=tfx.proto.Output(
                split_config=tfx.proto.SplitConfig(
                    splits=[
                        tfx.proto.SplitConfig.Split(name="train", hash_buckets=9),
                        tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
                    ]
                )
            ),
        )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    if schema_file:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=schema_file)
    else:
        schema_gen = tfx.components.SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=False
        )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    data_gate = None
    if stop_on_data_problems:
        gate_inputs = dict(
            anomalies=example_validator.outputs["anomalies"],
            statistics=statistics_gen.outputs["statistics"],
            schema=schema_gen.outputs["schema"],
        )
        data_gate = (container_data_gate(data_gate_image) if data_gate_image else DataValidationGate)(**gate_inputs)
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file=module_file,
    )
    if data_gate is not None and not validate_only:
        transform.add_upstream_node(data_gate)  # Transform, and so Trainer, wait for the gate.
    trainer_args = dict(
        module_file=module_file,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=eval_steps),
    )
    vertex = tfx.extensions.google_cloud_ai_platform

    def vertex_config(settings: dict[str, Any]) -> dict[str, Any]:
        """The custom_config that switches an extension component to Vertex AI in vertex_region."""
        return {vertex.ENABLE_VERTEX_KEY: True, vertex.VERTEX_REGION_KEY: vertex_region, **settings}

    if vertex_training_args:
        trainer = vertex.Trainer(
            **trainer_args, custom_config=vertex_config({vertex.TRAINING_ARGS_KEY: vertex_training_args})
        )
    else:
        trainer = tfx.components.Trainer(**trainer_args)
    # The baseline for the Evaluator's change threshold: the latest model it blessed before.
    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=_eval_config(min_eval_auc, max_auc_decrease),
    )
    pusher_args = dict(model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"])
    if vertex_serving_args:
        serving = {vertex.SERVING_ARGS_KEY: vertex_serving_args}
        if vertex_serving_image:
            serving[vertex.VERTEX_CONTAINER_IMAGE_URI_KEY] = vertex_serving_image
        pusher = vertex.Pusher(**pusher_args, custom_config=vertex_config(serving))
    else:
        pusher = tfx.components.Pusher(
            **pusher_args,
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_model_dir)
            ),
        )
    return PipelineComponents(
        example_gen=example_gen,
        statistics_gen=statistics_gen,
        schema_gen=schema_gen,
        example_validator=example_validator,
        data_gate=data_gate,
        transform=transform,
        trainer=trainer,
        model_resolver=model_resolver,
        evaluator=evaluator,
        pusher=pusher,
    )


def create_pipeline(
    pipeline_root: str,
    data_root: str,
    module_file: str,
    serving_model_dir: str,
    pipeline_name: str = PIPELINE_NAME,
    train_steps: int = TRAIN_STEPS,
    eval_steps: int = EVAL_STEPS,
    min_eval_auc: float = MIN_EVAL_AUC,
    max_auc_decrease: float = MAX_AUC_DECREASE,
    beam_pipeline_args: list[str] | None = None,
    metadata_connection_config=None,
    enable_cache: bool = True,
    vertex_region: str | None = None,
    vertex_training_args: dict[str, Any] | None = None,
    vertex_serving_args: dict[str, Any] | None = None,
    vertex_serving_image: str | None = None,
    presplit: bool = False,
    schema_file: str | None = CURATED_SCHEMA_FILE,
    stop_on_data_problems: bool = True,
    data_gate_image: str | None = None,
    validate_only: bool = False,
) -> tfx.dsl.Pipeline:
    """Returns the whole pipeline, ready for a DAG runner.

    Args:
      pipeline_root: Folder (local or gs://) where every artifact is written.
      data_root, module_file, serving_model_dir, train_steps, eval_steps, min_eval_auc,
        max_auc_decrease, vertex_region, vertex_training_args, vertex_serving_args,
        vertex_serving_image, presplit, schema_file, stop_on_data_problems, data_gate_image:
        As in `create_components`.
      validate_only: Run only the components up to the data gate: check new data before
        spending a Transform and a training on it.
      pipeline_name: Name of the pipeline in ML Metadata and on Vertex AI.
      beam_pipeline_args: Options of the Beam-based components (ExampleGen, StatisticsGen,
        Transform, Evaluator): in-process DirectRunner locally, DataflowRunner on Google Cloud.
      metadata_connection_config: ML Metadata store (e.g. SQLite) for LocalDagRunner; None on
        Vertex AI, which keeps its own.
      enable_cache: Reuse a component's earlier outputs when its inputs and code are unchanged.
    """
    components = create_components(
        data_root=data_root,
        module_file=module_file,
        serving_model_dir=serving_model_dir,
        train_steps=train_steps,
        eval_steps=eval_steps,
        min_eval_auc=min_eval_auc,
        max_auc_decrease=max_auc_decrease,
        vertex_region=vertex_region,
        vertex_training_args=vertex_training_args,
        vertex_serving_args=vertex_serving_args,
        vertex_serving_image=vertex_serving_image,
        presplit=presplit,
        schema_file=schema_file,
        stop_on_data_problems=stop_on_data_problems,
        data_gate_image=data_gate_image,
        validate_only=validate_only,
    )
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components.validation_stage() if validate_only else components.in_order(),
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args or [],
    )
