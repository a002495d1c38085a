"""Stages the pipeline's inputs on Cloud Storage: the data, the user-code wheel, the curated schema and
the reference statistics.

Components on Vertex AI cannot read this machine's disk. The schema and the reference statistics
each go to a folder named by a hash of their contents, and module.py travels in TFX's user-code
wheel, whose name carries a hash of its sources (user_code.py), to `{pipeline_root}/_wheels/`: a
changed file is a new path, hence a changed parameter of the components that read it, and Vertex
AI's cache cannot reuse outputs of the old one. Data is staged in one of two ways:
  - monthly spans (data_local): the chosen range goes to `<pipeline>/spans/span-<newest>/`, one
    file per month, as `pipeline_tools.spans.stage` does locally. The blueprint reads
    `<pipeline>/spans/span-{SPAN}/*`, and CsvExampleGen's driver resolves {SPAN} to the newest
    span there *when each run starts*: the same blueprint, on a schedule, learns from whatever
    range was uploaded last (`--upload-data` uploads the next one). A run reads the newest range
    uploaded, so to go back to an older range, delete the newer span folders.
  - a plain folder of CSV files: to a folder named by the files' hash, as the other inputs.
The CSV files are checked before anything is planned: a file CsvExampleGen cannot read is
refused here, with its line, not after the upload.
"""

import dataclasses
import hashlib
import os
from collections.abc import Sequence

from pipeline_tools import spans
from pipeline_tools.csv_check import check_csv_folder
from pipeline_tools.vertex import user_code
from pipeline_tools.vertex.settings import VertexSettings


@dataclasses.dataclass(frozen=True)
class Upload:
    source: str
    destination: str


@dataclasses.dataclass(frozen=True)
class GcsInputs:
    """Where the pipeline reads its inputs on Cloud Storage, and what to copy there."""

    data_root: str
    user_code: str  # Where Transform and Trainer load module.py from: 'module@<the wheel>'.
    schema_file: str | None  # None when the pipeline infers its schema.
    uploads: list[Upload]
    reference_statistics: str = ""  # What the gate compares data with before a model was served.
    spans: str = ""  # The range of monthly spans staged ('' for a plain folder of CSV files).


def fingerprint(paths: Sequence[str]) -> str:
    """12 hex digits of a SHA-256 over the files' names and contents."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:12]


def _addressed(settings: VertexSettings, kind: str, path: str) -> str:
    return f"{settings.gcs_root}/{kind}/{fingerprint([path])}/{os.path.basename(path)}"


def plan_data(settings: VertexSettings, data_dir: str) -> tuple[str, str, list[Upload]]:
    """(data root on Cloud Storage, spans range or '', uploads) of data_dir's CSV files."""
    found = spans.available(data_dir)
    if not found:
        if settings.pipeline.spans:
            raise ValueError(spans.no_spans_error(settings.pipeline.spans, data_dir))
        csv_files = check_csv_folder(data_dir)
        data_root = f"{settings.gcs_root}/data/{fingerprint(csv_files)}"
        return data_root, "", [Upload(path, f"{data_root}/{os.path.basename(path)}") for path in csv_files]
    chosen = spans.select(found, settings.pipeline.spans)
    data_root = f"{settings.gcs_root}/spans"
    folder = f"{data_root}/span-{chosen[-1]}"
    uploads = []
    for span in chosen:
        files = check_csv_folder(os.path.join(data_dir, f"span-{span}"))
        uploads += [Upload(path, f"{folder}/{name}") for path, name in spans.staged_names(span, files)]
    return data_root, spans.text(chosen), uploads


def plan_uploads(settings: VertexSettings, data_dir: str, module_file: str, wheels_dir: str) -> GcsInputs:
    """Plans the copies of data_dir's CSV files, the user-code wheel (built into wheels_dir from
    module_file's folder), the pipeline's schema and the reference statistics to the bucket."""
    schema_file = settings.pipeline.schema_path
    reference = settings.pipeline.reference_statistics_path
    for name, path in (("module_file", module_file), ("schema_file", schema_file)):
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{name} {path!r} does not exist")
    data_root, staged_spans, uploads = plan_data(settings, data_dir)
    wheel = user_code.package(module_file, wheels_dir)
    wheel_uri = f"{settings.pipeline_root}/_wheels/{os.path.basename(wheel)}"
    uploads.append(Upload(wheel, wheel_uri))
    schema_uri = None
    if schema_file is not None:
        schema_uri = _addressed(settings, "schema", schema_file)
        uploads.append(Upload(schema_file, schema_uri))
    reference_uri = reference
    if "://" not in reference:
        reference_uri = _addressed(settings, "reference", reference)
        uploads.append(Upload(reference, reference_uri))
    return GcsInputs(
        data_root=data_root,
        user_code=user_code.module_path(module_file, wheel_uri),
        schema_file=schema_uri,
        uploads=uploads,
        reference_statistics=reference_uri,
        spans=staged_spans,
    )


def upload(inputs: GcsInputs, settings: VertexSettings, credentials) -> None:
    """Copies the planned files to Cloud Storage (needs the network and write access to the bucket)."""
    from google.cloud import storage
    from tqdm.auto import tqdm

    client = storage.Client(project=settings.project, credentials=credentials)
    for item in tqdm(inputs.uploads, desc="uploading", unit="file"):
        bucket_name, _, blob_name = item.destination[len("gs://") :].partition("/")
        client.bucket(bucket_name).blob(blob_name).upload_from_filename(item.source)
        print(f"uploaded {item.source} -> {item.destination}")
