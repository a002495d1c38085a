"""The pipeline's Vertex AI blueprints as the stand-in executes them: compiled with local folders
where a real run has gs:// ones, the user-code wheel built into the local pipeline root, the
pipeline image built in the stand-in's catalogue, and the data uploaded as `runner --upload-data`
uploads it."""

import csv

import tfx
from vertex_stand_in import ImageCatalogue, StandIn, cloud

from conftest import REPO_ROOT
from pipeline_tools import serving
from pipeline_tools.settings import CURATED_SCHEMA_FILE, MODULE_FILE
from pipeline_tools.vertex import images, runner, staging, user_code
from pipeline_tools.vertex.settings import VertexSettings

REAL = dict(
    project="acme-ml-prod",
    bucket="acme-ml-pipelines",
    service_account="tfx-pipelines@acme-ml-prod.iam.gserviceaccount.com",
)


def write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def upload_window(bucket, months, rows_per_month=120):
    """What `runner --upload-data` puts on Cloud Storage: the range as spans/span-<newest>/<month>.csv."""
    for month in months:
        rows = serving.read_rows(str(REPO_ROOT / "data_local" / f"span-{month}"), rows_per_month)
        write_rows(bucket / "spans" / f"span-{months[-1]}" / f"{month}.csv", rows)


def compile_local(folder, settings: VertexSettings, spans: str = "", data_root=None, name="blueprint.json") -> dict:
    """The blueprint a real run compiles, with folder/ standing for the bucket, written to folder/name."""
    root = folder / "pipeline_root"
    wheel = user_code.package(MODULE_FILE, str(root))
    inputs = staging.GcsInputs(
        str(data_root or folder / "spans"),
        user_code.module_path(MODULE_FILE, wheel),
        CURATED_SCHEMA_FILE,
        uploads=[],
        spans=spans,
    )
    where = runner.Destinations(str(root), str(folder / "serving_model"))
    return runner.compile_pipeline(settings, inputs, str(folder / name), where)


def stand_in_for(folder, settings: VertexSettings, network: bool = False, dataflow_workers=None) -> StandIn:
    """A stand-in whose catalogue holds TFX's image and the pipeline image built from this checkout;
    with network, its fakes of Vertex AI's services (training jobs run in TFX's image)."""
    catalogue = ImageCatalogue(str(folder / "images"), tfx.__version__)
    catalogue.build_pipeline_image(settings.pipeline_image_uri, images.PIPELINE_DOCKERFILE, str(REPO_ROOT))
    fakes = None
    if network:
        tfx_image = catalogue.tfx_image
        fakes = cloud.install_network(str(folder / "network"), {tfx_image.uri: tfx_image.environment})
    return StandIn(str(folder / "service"), catalogue, network=fakes, local_dataflow_workers=dataflow_workers)
