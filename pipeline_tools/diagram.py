"""A picture of the pipeline, drawn from the pipeline's components themselves: never stale.

`graph(components)` reads what TFX knows of the wiring (each input channel's producer and output
key, each component's upstream nodes); `draw(graph)` lays it out top to bottom, one row per step,
and returns a matplotlib figure: a box per component with the artifacts it writes, an arrow per
artifact a component reads. The notebooks show it (`show`) as a PNG, which Colab, JupyterLab and
GitHub all render; `python -m pipeline_tools.diagram` writes docs/images/pipeline.png, the README's
copy, with the graph's fingerprint in the PNG's metadata, which a test compares with the pipeline's.
"""

import argparse
import dataclasses
import hashlib
import io
import json
import os
import sys
from collections.abc import Sequence

import matplotlib

if not os.environ.get("MPLBACKEND") and "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # No display outside a notebook.

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch  # noqa: E402
from matplotlib.path import Path  # noqa: E402

from pipeline_tools.settings import REPO_ROOT  # noqa: E402

IMAGE = os.path.join(REPO_ROOT, "docs", "images", "pipeline.png")
OURS = ("DataValidationGate", "AttachTrainingStatistics", "ModelGate", "UndeployIdleModels")
COLORS = {"tfx": "#dbe7f5", "ours": "#fbe3c8", "query": "#e6e6e6"}
LEGEND = {
    "tfx": "TFX's components",
    "ours": "the repository's (pipeline_tools/components)",
    "query": "a query of ML Metadata",
}
BOX_WIDTH, BOX_HEIGHT, ROW_HEIGHT, SIDE, LANE = 2.3, 0.56, 0.9, 2.9, 0.22


@dataclasses.dataclass(frozen=True)
class Graph:
    """The components in order, their outputs, each artifact edge (producer, output key, consumer), and
    each ordering edge (a component that waits for another without reading its artifacts)."""

    components: tuple[str, ...]
    outputs: tuple[tuple[str, tuple[str, ...]], ...]
    artifacts: tuple[tuple[str, str, str], ...]
    ordering: tuple[tuple[str, str], ...]

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def graph(components: Sequence) -> Graph:
    """What the components say of their wiring."""
    ids = [component.id for component in components]
    outputs = tuple((component.id, tuple(sorted(component.outputs))) for component in components)
    artifacts, ordering = set(), set()
    for component in components:
        fed = set()
        for channel in component.inputs.values():
            producer = getattr(channel, "producer_component_id", None)
            if producer in ids:
                artifacts.add((producer, channel.output_key, component.id))
                fed.add(producer)
        waits = [node.id for node in component.upstream_nodes if node.id in ids and node.id not in fed]
        ordering |= {(node, component.id) for node in waits}
    return Graph(tuple(ids), outputs, tuple(sorted(artifacts)), tuple(sorted(ordering)))


def _upstream(found: Graph) -> dict[str, set[str]]:
    upstream = {name: set() for name in found.components}
    for producer, _, consumer in found.artifacts:
        upstream[consumer].add(producer)
    for before, after in found.ordering:
        upstream[after].add(before)
    return upstream


def layout(found: Graph) -> dict[str, tuple[float, float]]:
    """(x, y) of each component: its row is one below its lowest input's (a component reading nothing sits
    just above its first reader); the longest chain runs down the middle, the others beside it."""
    upstream = _upstream(found)
    row: dict[str, int] = {}
    for name in found.components:  # Pipeline order: upstream first.
        row[name] = 1 + max((row[before] for before in upstream[name]), default=-1)
    readers = {name: [after for after in found.components if name in upstream[after]] for name in found.components}
    for name in found.components:
        if not upstream[name] and readers[name]:
            row[name] = max(row[name], min(row[after] for after in readers[name]) - 1)
    chain, longest = set(), {}
    for name in reversed(found.components):  # The longest path from each component downwards.
        longest[name] = 1 + max((longest[after] for after in readers[name]), default=0)
    current = max((n for n in found.components if not upstream[n]), key=lambda n: longest[n], default=None)
    while current is not None:
        chain.add(current)
        current = max(readers[current], key=lambda n: longest[n], default=None)
    place, used = {}, {}
    for name in found.components:
        side = 0 if name in chain else used.setdefault(row[name], 0) + 1
        if name not in chain:
            used[row[name]] = side
        x = 0.0 if side == 0 else SIDE * ((side + 1) // 2) * (1 if side % 2 else -1)
        place[name] = (x, -row[name] * ROW_HEIGHT)
    return place


def _kind(name: str) -> str:
    return "ours" if name in OURS else ("query" if "resolver" in name.lower() else "tfx")


def _label(name: str) -> str:
    return "Resolver: latest blessed model" if name == "latest_blessed_model_resolver" else name


def _lanes(found: Graph, place: dict[str, tuple[float, float]]) -> dict[str, int]:
    """A lane beside the boxes for each component whose artifacts skip rows: the longer its reach, the
    further out (lanes whose rows overlap never share), so arrows do not cross boxes or each other."""
    reach: dict[str, tuple[float, float]] = {}
    for producer, _, consumer in found.artifacts:
        if round((place[producer][1] - place[consumer][1]) / ROW_HEIGHT) > 1:
            low = min(reach.get(producer, (place[producer][1],) * 2)[0], place[consumer][1])
            reach[producer] = (low, place[producer][1])
    lanes: dict[str, int] = {}
    for name in sorted(reach, key=lambda n: reach[n][1] - reach[n][0]):
        low, high = reach[name]
        taken = {
            lanes[other]
            for other in lanes
            if (place[other][0] > 0) == (place[name][0] > 0) and reach[other][0] <= high and low <= reach[other][1]
        }
        lanes[name] = min(lane for lane in range(1, len(reach) + 2) if lane not in taken)
    return lanes


def _edge(axes, start, end, lane: int | None, color: str, dashed: bool = False) -> None:
    """An arrow into a box: straight into its top from the row above, else along the producer's lane (left of
    the middle column, right of the others) and into the box's side."""
    (x0, y0), (x1, y1) = start, end
    if lane is None or round((y0 - y1) / ROW_HEIGHT) <= 1:
        points = [(x0, y0 - BOX_HEIGHT / 2), (x1, y1 + BOX_HEIGHT / 2)]
    else:
        side = 1 if x0 > 0 else -1
        lane_x = x0 + side * (BOX_WIDTH / 2 + LANE * lane)
        y0, y1 = y0 - BOX_HEIGHT / 5, y1 + BOX_HEIGHT / 8  # Out low, in high: a box's own arrows stay apart.
        points = [(x0 + side * BOX_WIDTH / 2, y0), (lane_x, y0), (lane_x, y1), (x1 + side * BOX_WIDTH / 2, y1)]
    arrow = FancyArrowPatch(
        path=Path(points), arrowstyle="-|>", mutation_scale=9, color=color, lw=0.9, linestyle="--" if dashed else "-"
    )
    axes.add_patch(arrow)


def draw(found: Graph):
    """The pipeline top to bottom: a box per component (with what it writes), an arrow per artifact read."""
    place = layout(found)
    xs, ys = [x for x, _ in place.values()], [y for _, y in place.values()]
    width, height = max(xs) - min(xs) + BOX_WIDTH + 1.6, max(ys) - min(ys) + BOX_HEIGHT + 1.2
    figure, axes = plt.subplots(figsize=(width * 1.15, height * 1.15))
    outputs = dict(found.outputs)
    for name, (x, y) in place.items():
        box = FancyBboxPatch(
            (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
            boxstyle="round,pad=0.02,rounding_size=0.08", fc=COLORS[_kind(name)], ec="#555", lw=0.8,
        )  # fmt: skip
        axes.add_patch(box)
        axes.text(x, y + 0.09, _label(name), ha="center", va="center", fontsize=8.5, weight="bold")
        written = ", ".join(outputs.get(name, ())) or "(no artifact)"
        axes.text(x, y - 0.14, f"writes {written}", ha="center", va="center", fontsize=6.5, color="#1f4e8c")
    lanes = _lanes(found, place)
    for producer, _, consumer in sorted(set((p, "", c) for p, _, c in found.artifacts)):
        _edge(axes, place[producer], place[consumer], lanes.get(producer), "#333")
    for before, after in found.ordering:
        _edge(axes, place[before], place[after], None, "#999", dashed=True)
    handles = [Patch(fc=COLORS[kind], ec="#555", label=text) for kind, text in LEGEND.items()]
    handles.append(plt.Line2D([], [], color="#999", linestyle="--", label="waits for it (reads nothing)"))
    axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=7, frameon=False)
    margin = BOX_WIDTH / 2 + LANE * (max(lanes.values(), default=0) + 1)
    axes.set_xlim(min(xs) - margin, max(xs) + margin)
    axes.set_ylim(min(ys) - BOX_HEIGHT / 2 - 0.2, max(ys) + BOX_HEIGHT / 2 + 0.2)
    axes.set_aspect("equal")
    axes.set_axis_off()
    axes.set_title("The pipeline: each component, what it writes, and what reads it", fontsize=9)
    figure.tight_layout()
    return figure


def png(found: Graph) -> bytes:
    """The drawing as PNG bytes, with the graph's fingerprint in its metadata (a test compares it)."""
    buffer = io.BytesIO()
    figure = draw(found)
    figure.savefig(buffer, format="png", dpi=110, metadata={"Description": f"pipeline graph {found.fingerprint()}"})
    plt.close(figure)
    return buffer.getvalue()


def show(components: Sequence) -> None:
    """Displays the pipeline of these components in a notebook, as a PNG image (Colab, JupyterLab, GitHub)."""
    from IPython.display import Image, display

    display(Image(png(graph(components))))


def save(found: Graph, path: str = IMAGE) -> None:
    """Writes the PNG (docs/images/pipeline.png: the README's picture)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(png(found))


def fingerprint_of(path: str = IMAGE) -> str | None:
    """The fingerprint a PNG written by `png` carries, or None."""
    from PIL import Image

    description = Image.open(path).info.get("Description", "")
    return description.rsplit(" ", 1)[-1] if description.startswith("pipeline graph ") else None


def production_components() -> list:
    """The components `python -m pipeline_tools.local_runner` runs on data_local (no Vertex AI switch)."""
    import tempfile

    import base_pipeline
    from pipeline_tools import spans
    from pipeline_tools.settings import DATA_ROOT, MODULE_FILE, PipelineSettings

    with tempfile.TemporaryDirectory(prefix="diagram-") as folder:
        settings, data_root = spans.input_for(PipelineSettings(), DATA_ROOT, folder)
        return base_pipeline.create_components(settings, data_root, MODULE_FILE, folder).in_order()


def main(argv: Sequence[str] | None = None) -> int:
    """Writes docs/images/pipeline.png from the pipeline the local runner builds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit status 1 if the PNG is not of today's pipeline")
    arguments = parser.parse_args(argv)
    found = graph(production_components())
    if arguments.check:
        same = fingerprint_of() == found.fingerprint() if os.path.isfile(IMAGE) else False
        print(f"{IMAGE}: {'up to date' if same else 'stale: run python -m pipeline_tools.diagram'}")
        return 0 if same else 1
    save(found)
    print(f"wrote {IMAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
