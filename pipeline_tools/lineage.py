"""The lineage of every model a pipeline trained, read from ML Metadata: which spans, which statistics,
whether the gate let the data through, which model, its AUC against the served one, blessed, pushed.

ML Metadata records each execution with the artifacts it read and wrote, under their input and
output keys. One row per model the Evaluator judged, found by walking back from the Evaluator:
its `model` came from the Trainer (through AttachTrainingStatistics, where the pipeline has it),
which read Transform's examples, which read CsvExampleGen's (with the span and the staged folder
of months it read), which StatisticsGen described; and forward to the data gate that read those
statistics, the model gate that read the Evaluator's evaluation, and the Pusher that read the
model gate's blessing.
Data that the gate stopped has a row too, with no model. It follows artifacts, not run contexts,
so it reads the stores of LocalDagRunner and of the notebook's InteractiveContext alike (which
records each `context.run` as a run of its own).
"""

import dataclasses
import os
from collections import defaultdict

import pandas as pd
from ml_metadata.proto import metadata_store_pb2

from pipeline_tools import metadata, spans
from pipeline_tools.components import artifacts
from pipeline_tools.components.model_gate import Verdict

_INPUT = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


@dataclasses.dataclass(frozen=True)
class ModelLineage:
    """What one model learned from and what became of it (model fields None when the gate stopped the data)."""

    examples_uri: str
    span: int | None
    months: tuple[int, ...]
    rows: dict[str, int]
    statistics_uri: str
    gate: str
    model_uri: str | None = None
    verdict: Verdict | None = None
    pushed_version: str | None = None

    def row(self) -> dict[str, object]:
        """The table's row."""
        if self.months:
            learned = f"{spans.text(list(self.months))} ({len(self.months)} months)"
        else:
            learned = f"span {self.span}" if self.span else "the CSV files of data_root"
        verdict = self.verdict
        return {
            "learned from": learned,
            "examples": " / ".join(f"{split} {count}" for split, count in self.rows.items()),
            "statistics": _short(self.statistics_uri),
            "gate": self.gate,
            "model": _short(self.model_uri) if self.model_uri else "none: the gate stopped the run",
            "AUC (95% interval)": _with_interval(verdict.auc, verdict.evidence.auc_interval) if verdict else "",
            "served model's AUC": f"{verdict.baseline_auc:.3f}" if verdict and verdict.baseline_auc else "",
            "blessed": ("yes" if verdict.blessed else "no") if verdict else "",
            "pushed": f"version {self.pushed_version}" if self.pushed_version else ("no" if verdict else ""),
        }


def _with_interval(value: float, interval: tuple[float, float]) -> str:
    return f"{value:.3f} ({interval[0]:.3f} to {interval[1]:.3f})"


def _short(uri: str) -> str:
    """The last three parts of an artifact's folder: component, output, execution id."""
    return "/".join(uri.rstrip("/").split("/")[-3:])


class _Graph:
    """Executions and the artifacts they read and wrote, by key, from one store."""

    def __init__(self, metadata_path: str):
        store = metadata.open_store(metadata_path)
        type_names = {kind.id: kind.name for kind in store.get_execution_types()}
        self.executions = {execution.id: execution for execution in store.get_executions()}
        self.component = {
            execution.id: type_names.get(execution.type_id, "").rsplit(".", 1)[-1]
            for execution in self.executions.values()
        }
        events = store.get_events_by_execution_ids(list(self.executions))
        self.artifacts = {
            artifact.id: artifact
            for artifact in store.get_artifacts_by_id(sorted({event.artifact_id for event in events}))
        }
        self.inputs: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.outputs: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.producer: dict[int, int] = {}
        self.readers: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for event in events:
            for key in metadata.event_keys(event):
                if event.type in _INPUT:
                    self.inputs[event.execution_id][key].append(event.artifact_id)
                    self.readers[event.artifact_id].append((event.execution_id, key))
                else:
                    self.outputs[event.execution_id][key].append(event.artifact_id)
                    self.producer.setdefault(event.artifact_id, event.execution_id)

    def named(self, component: str) -> list[int]:
        """The executions of a component, oldest first."""
        return sorted(execution for execution, name in self.component.items() if name == component)

    def input(self, execution: int | None, key: str) -> int | None:
        found = self.inputs[execution][key] if execution is not None else []
        return found[0] if found else None

    def output(self, execution: int | None, key: str) -> int | None:
        found = self.outputs[execution][key] if execution is not None else []
        return found[0] if found else None

    def reader(self, artifact: int | None, component: str, key: str) -> int | None:
        """The newest execution of component that read the artifact under key."""
        found = [e for e, k in self.readers.get(artifact, []) if k == key and self.component[e] == component]
        return max(found) if found else None

    def uri(self, artifact: int | None) -> str | None:
        return self.artifacts[artifact].uri if artifact is not None else None

    def state(self, execution: int) -> str:
        return metadata_store_pb2.Execution.State.Name(self.executions[execution].last_known_state)


def _gate(graph: _Graph, statistics: int) -> str:
    gate = graph.reader(statistics, "DataValidationGate", "statistics")
    if gate is None:
        return "no gate in this run"
    return {"COMPLETE": "passed", "CACHED": "passed", "FAILED": "stopped the run"}.get(graph.state(gate), "running")


def _example_facts(graph: _Graph, examples: int) -> tuple[int | None, tuple[int, ...]]:
    """The span ExampleGen read, and the months of the staged range it read (from its input_base)."""
    span = metadata.property_value(graph.artifacts[examples], "span")
    producer = graph.executions.get(graph.producer.get(examples, -1))
    input_base = None
    if producer is not None:
        for properties in (producer.properties, producer.custom_properties):
            if "input_base" in properties:
                input_base = properties["input_base"].string_value
    months = tuple(spans.staged_spans(input_base)) if input_base and os.path.isdir(input_base) else ()
    return (int(span) if span else None), months


def _rows(statistics_uri: str) -> dict[str, int]:
    found = artifacts.read_split_statistics(statistics_uri)
    return {split: int(found[split].datasets[0].num_examples) for split in sorted(found, key=lambda s: s != "train")}


def _data_lineage(graph: _Graph, statistics: int, examples: int, **model_fields) -> ModelLineage:
    """A row's data part (span, months, rows, statistics) read from the graph, with model_fields as given."""
    span, months = _example_facts(graph, examples)
    return ModelLineage(
        examples_uri=graph.uri(examples),
        span=span,
        months=months,
        rows=_rows(graph.uri(statistics)),
        statistics_uri=graph.uri(statistics),
        **model_fields,
    )


def _learned_from(graph: _Graph, model: int | None) -> tuple[int | None, int | None]:
    """(examples, statistics) a model learned from: back through AttachTrainingStatistics (when the
    pipeline has it), the Trainer and Transform to CsvExampleGen's examples, and the StatisticsGen
    that read them."""
    producer = graph.producer.get(model)
    if producer is not None and graph.component[producer] == "AttachTrainingStatistics":
        producer = graph.producer.get(graph.input(producer, "trained_model"))
    transform = graph.producer.get(graph.input(producer, "examples"))
    examples = graph.input(transform, "examples")
    return examples, graph.output(graph.reader(examples, "StatisticsGen", "examples"), "statistics")


def models(metadata_path: str) -> list[ModelLineage]:
    """Every model the Evaluator judged, and every dataset the gate stopped, oldest first."""
    graph = _Graph(metadata_path)
    found: list[tuple[int, ModelLineage]] = []
    judged_statistics = set()
    for evaluator in graph.named("Evaluator"):
        evaluation = graph.output(evaluator, "evaluation")
        if evaluation is None or graph.state(evaluator) not in ("COMPLETE", "CACHED"):
            continue
        model = graph.input(evaluator, "model")
        examples, statistics = _learned_from(graph, model)
        if statistics is None or examples is None:
            continue
        judged_statistics.add(statistics)
        # The model gate read the Evaluator's evaluation; the Pusher obeys the model gate.
        model_gate = graph.reader(evaluation, "ModelGate", "evaluation")
        blessing = graph.output(model_gate, "blessing")
        pusher = graph.reader(blessing, "Pusher", "model_blessing")
        pushed = graph.output(pusher, "pushed_model")
        version = None
        if pushed is not None and metadata.property_value(graph.artifacts[pushed], "pushed"):
            version = str(metadata.property_value(graph.artifacts[pushed], "pushed_version"))
        lineage = _data_lineage(
            graph,
            statistics,
            examples,
            gate=_gate(graph, statistics),
            model_uri=graph.uri(model),
            verdict=Verdict.read(graph.uri(blessing)) if blessing is not None else None,
            pushed_version=version,
        )
        found.append((evaluator, lineage))
    for gate in graph.named("DataValidationGate"):
        statistics = graph.input(gate, "statistics")
        if statistics in judged_statistics or graph.state(gate) != "FAILED":
            continue
        judged_statistics.add(statistics)
        examples = graph.input(graph.producer.get(statistics), "examples")
        found.append((gate, _data_lineage(graph, statistics, examples, gate="stopped the run")))
    return [lineage for _, lineage in sorted(found, key=lambda item: item[0])]


def table(metadata_path: str) -> pd.DataFrame:
    """models() as a table, one row per model (or stopped dataset), numbered from 1: a static table
    that reads the same in Colab, JupyterLab and a saved notebook."""
    frame = pd.DataFrame([lineage.row() for lineage in models(metadata_path)])
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="run")
    return frame
