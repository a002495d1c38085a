"""Spans: the data arrives by the month, and each run learns from a range of recent months.

`python -m pipeline_tools.prepare_data ... --spans month` writes one folder per month in which
complaints were received: `span-201503/complaints.csv`, `span-201504/...` (data_local holds the
2015 data that way). TFX's CsvExampleGen ingests one span per run: its RangeConfig takes a
single span, resolved when the run starts from a `{SPAN}` pattern (`span-{SPAN}/*`), the newest by
default, which is what lets a scheduled run pick up new data. A model trained on one month (about
300 complaints here) would learn little, so a run learns from a *range* of months: the runner
stages that range as one span, named after its newest month, holding one file per month
(`inputs/201503-201511/span-201511/201503.csv ... 201511.csv`). ExampleGen records the span on its
examples and the staged folder as its input_base, so ML Metadata says which months each run
learned from (pipeline_tools.lineage).

What the gate sees is the whole range: a bad month among ten moves a category's share a tenth
as far as the month alone would. Short ranges keep the gate sharp; data_local's thresholds
(schema.py) are set for one month against the rest.

A folder of CSV files without span folders (a reader's own data) is used as it is.
"""

import dataclasses
import os
import re
import shutil

SPAN_FOLDER = re.compile(r"^span-(\d+)$")
PATTERN = "span-{SPAN}/*"  # What CsvExampleGen reads below a staged input root.
RANGE = re.compile(r"(\d+)-(\d+)")  # How the spans setting names a range: 201503-201511.


def range_error(wanted: str) -> str:
    """Why a spans setting is not a range."""
    return f"spans {wanted!r}: give a range of span numbers such as '201503-201511', or '' for all"


def no_spans_error(wanted: str, data_root: str) -> str:
    """Why a range of spans cannot be read from data_root."""
    return f"spans {wanted!r}: {data_root!r} holds no span-N folder"


def available(data_root: str) -> list[int]:
    """The spans (span-N folders holding CSV files) directly in data_root, oldest first; [] for plain data."""
    found = []
    for name in os.listdir(data_root) if os.path.isdir(data_root) else []:
        match = SPAN_FOLDER.match(name)
        folder = os.path.join(data_root, name)
        if match and os.path.isdir(folder) and any(file.endswith(".csv") for file in os.listdir(folder)):
            found.append(int(match.group(1)))
    return sorted(found)


def csv_paths(data_root: str) -> list[str]:
    """Every CSV file of a data root, oldest span first: span-N/*.csv, or the files directly in it."""
    from pipeline_tools.csv_check import csv_files

    found = available(data_root)
    if not found:
        return csv_files(data_root)
    return [path for span in found for path in csv_files(os.path.join(data_root, f"span-{span}"))]


def select(spans: list[int], wanted: str) -> list[int]:
    """The spans a run learns from: all of them (""), or an inclusive range "A-B" (e.g. "201503-201511")."""
    if not spans:
        raise ValueError("no span folders (span-201503/ ...) to choose from")
    if not wanted:
        return list(spans)
    match = RANGE.fullmatch(wanted.strip())
    if not match:
        raise ValueError(range_error(wanted))
    first, last = int(match.group(1)), int(match.group(2))
    chosen = [span for span in spans if first <= span <= last]
    if first > last or not chosen:
        raise ValueError(f"spans {wanted!r} selects none of the spans there are ({spans[0]} to {spans[-1]})")
    return chosen


def text(chosen: list[int]) -> str:
    """A range as the spans setting writes it."""
    return f"{chosen[0]}-{chosen[-1]}"


def newest(chosen_text: str) -> int:
    """The newest span of a range as the spans setting writes it ("201503-201511" -> 201511)."""
    return int(chosen_text.strip().rsplit("-", 1)[-1])


def next_range(spans: list[int], last_trained: int) -> list[int]:
    """The range of the next run: every span up to the first one newer than last_trained."""
    newer = [span for span in spans if span > last_trained]
    if not newer:
        raise ValueError(f"no span newer than {last_trained} (the newest is {spans[-1]})")
    return [span for span in spans if span <= newer[0]]


def staged_names(span: int, files: list[str]) -> list[tuple[str, str]]:
    """(file, its name in a staged range) for a span's CSV files: 201503.csv, or 201503-0.csv ... ."""
    return [(path, f"{span}{f'-{index}' if len(files) > 1 else ''}.csv") for index, path in enumerate(files)]


def stage(data_root: str, chosen: list[int], inputs_root: str) -> str:
    """Copies the chosen spans' files into inputs_root/<first>-<last>/span-<last>/, one file per span,
    and returns inputs_root/<first>-<last>, the input_base that holds this one span only.

    Files keep their modification times (ExampleGen's fingerprint reads them), so staging the same
    range again is a cache hit; other ranges staged earlier stay, for the lineage of their runs.
    """
    staged = os.path.join(inputs_root, text(chosen))
    if os.path.isdir(staged):
        shutil.rmtree(staged)
    target = os.path.join(staged, f"span-{chosen[-1]}")
    os.makedirs(target)
    for span in chosen:
        folder = os.path.join(data_root, f"span-{span}")
        files = sorted(os.path.join(folder, name) for name in os.listdir(folder) if name.endswith(".csv"))
        for path, name in staged_names(span, files):
            shutil.copy2(path, os.path.join(target, name))
    return staged


def staged_spans(input_base: str) -> list[int]:
    """The spans a staged range holds, from its files' names (span-201511/201503.csv ...); [] if none."""
    found: set[int] = set()
    for span in available(input_base) if os.path.isdir(input_base) else []:
        for name in os.listdir(os.path.join(input_base, f"span-{span}")):
            match = re.match(r"^(\d+)(?:-\d+)?\.csv$", name)
            if match:
                found.add(int(match.group(1)))
    return sorted(found)


def input_for(settings, data_root: str, output_root: str):
    """(settings, data root) of a run: data_root as it is when it holds plain CSV files, or the
    chosen range of its spans staged in output_root/inputs, settings.spans naming that range."""
    found = available(data_root)
    if not found:
        if settings.spans:
            raise ValueError(no_spans_error(settings.spans, data_root))
        return settings, data_root
    chosen = select(found, settings.spans)
    staged = stage(data_root, chosen, os.path.join(output_root, "inputs"))
    return dataclasses.replace(settings, spans=text(chosen)), staged
