"""Refuses CSV files CsvExampleGen cannot read, naming the file and the line, before any component runs.

CsvExampleGen reads one UTF-8 record per line, every line with the header's number of fields.
`check_inputs` runs these checks on a local data root when the pipeline is built, and the Vertex AI
runner on the data it is about to upload. A CFPB export with such records is converted by
`python -m pipeline_tools.prepare_data`, which reports them.
"""

import csv
import io
import os


def check_csv_file(path: str) -> list[str]:
    """Raises ValueError at the first record CsvExampleGen cannot read; returns the header.

    An unbalanced quote or a line break inside quotes makes a record span several lines.
    """
    with open(path, "rb") as csv_file:
        data = csv_file.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path} line {line}: bytes that are not UTF-8 ({data[error.start : error.end]!r}); "
            "save the file as UTF-8 (python -m pipeline_tools.prepare_data reports such records)"
        ) from None
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    last_line = 0
    for record in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if header is None:
            header = record
        elif last_line > first_line:
            raise ValueError(
                f"{path} lines {first_line}-{last_line}: one record spans several lines (an unbalanced "
                "quote, or a line break inside quotes); CsvExampleGen reads one record per line"
            )
        elif not record:
            raise ValueError(f"{path} line {first_line}: a blank line; CsvExampleGen needs a record on every line")
        elif len(record) != len(header):
            raise ValueError(f"{path} line {first_line}: {len(record)} fields, the header has {len(header)}")
    if header is None:
        raise ValueError(f"{path} is empty: CsvExampleGen needs a header line and data rows")
    if last_line < 2:
        raise ValueError(f"{path} holds a header and no data rows")
    return header


def csv_files(folder: str) -> list[str]:
    """The .csv files directly in folder, sorted; ValueError when folder is not one or has none."""
    if not os.path.isdir(folder):
        raise ValueError(f"{folder!r} is not a folder")
    files = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".csv"))
    if not files:
        raise ValueError(f"{folder!r} holds no .csv file for CsvExampleGen")
    return files


def check_csv_folder(folder: str) -> list[str]:
    """check_csv_file for each .csv in folder, and the same header in all of them; returns the files."""
    files = csv_files(folder)
    headers = {path: check_csv_file(path) for path in files}
    first = files[0]
    for path in files[1:]:
        if headers[path] != headers[first]:
            raise ValueError(
                f"{path} has columns {headers[path]}, but {first} has {headers[first]}: "
                "CsvExampleGen needs one header for all files"
            )
    return files


def check_inputs(data_root: str, spans_wanted: str, presplit: bool, module_file: str) -> None:
    """Raises ValueError naming a local input the pipeline cannot read: a missing folder or module file,
    span folders without a range (or a range without span folders), or the first CSV record
    CsvExampleGen could not read. Remote (gs://) paths are not checked."""
    from pipeline_tools import spans

    if "://" not in data_root:
        if not os.path.isdir(data_root):
            raise ValueError(f"data_root {data_root!r} is not a folder")
        staged = spans.available(data_root)
        if staged and not spans_wanted:
            raise ValueError(
                f"data_root {data_root!r} holds span folders: pass a range in settings.spans and the folder "
                "pipeline_tools.spans.stage makes (the runners and notebooks do it), not the spans themselves"
            )
        if spans_wanted and not staged:
            raise ValueError(spans.no_spans_error(spans_wanted, data_root))
        if spans_wanted:
            folders = [os.path.join(data_root, f"span-{span}") for span in staged]
        elif presplit:
            folders = [os.path.join(data_root, split) for split in ("train", "eval")]
        else:
            folders = [data_root]
        for folder in folders:
            check_csv_folder(folder)
    if "://" not in module_file and not os.path.isfile(module_file):
        raise ValueError(f"module_file {module_file!r} does not exist")
