"""Stages the pipeline's inputs on Cloud Storage: the CSV files, module.py and the curated schema.

Components on Vertex AI cannot read this machine's disk. Each input goes to a folder named by a
hash of its contents, so a changed module.py, schema or CSV is a new path, hence a changed
parameter of the components that read it, and Vertex AI's cache cannot reuse outputs of the old
one. The CSV files are checked before anything is planned: a file CsvExampleGen cannot read is
refused here, with its line, not after the upload.
"""

import dataclasses
import hashlib
import os
from collections.abc import Sequence

from pipeline_tools.csv_check import check_csv_folder
from pipeline_tools.vertex.settings import VertexSettings


@dataclasses.dataclass(frozen=True)
class Upload:
    source: str
    destination: str


@dataclasses.dataclass(frozen=True)
class GcsInputs:
    """Where the pipeline reads its inputs on Cloud Storage, and what to copy there."""

    data_root: str
    module_file: str
    schema_file: str | None  # None when the pipeline infers its schema.
    uploads: list[Upload]


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


def plan_uploads(settings: VertexSettings, data_dir: str, module_file: str) -> GcsInputs:
    """Plans the copies of data_dir's CSV files, module.py and the pipeline's schema to the bucket."""
    csv_files = check_csv_folder(data_dir)
    schema_file = settings.pipeline.schema_path
    for name, path in (("module_file", module_file), ("schema_file", schema_file)):
        if path is not None and not os.path.isfile(path):
            raise ValueError(f"{name} {path!r} does not exist")
    data_root = f"{settings.gcs_root}/data/{fingerprint(csv_files)}"
    uploads = [Upload(path, f"{data_root}/{os.path.basename(path)}") for path in csv_files]
    module_uri = _addressed(settings, "module", module_file)
    uploads.append(Upload(module_file, module_uri))
    schema_uri = None
    if schema_file is not None:
        schema_uri = _addressed(settings, "schema", schema_file)
        uploads.append(Upload(schema_file, schema_uri))
    return GcsInputs(data_root=data_root, module_file=module_uri, schema_file=schema_uri, uploads=uploads)


def upload(inputs: GcsInputs, settings: VertexSettings, credentials) -> None:
    """Copies the planned files to Cloud Storage (needs the network and write access to the bucket)."""
    from google.cloud import storage
    from tqdm.auto import tqdm

    client = storage.Client(project=settings.project, credentials=credentials)
    for item in tqdm(inputs.uploads, desc="uploading", unit="file"):
        bucket_name, _, blob_name = item.destination[len("gs://") :].partition("/")
        client.bucket(bucket_name).blob(blob_name).upload_from_filename(item.source)
        print(f"uploaded {item.source} -> {item.destination}")
