"""Converts a CFPB consumer-complaint export into the tutorial's CSV schema.

The CFPB publishes its database as a CSV with human-readable column names
("Consumer complaint narrative", "Consumer disputed?", ...). The pipeline reads a
CSV with the tutorial's snake_case schema instead, keeps only complaints that
have a narrative and a Yes/No dispute value, and turns the label into 0/1.

    python -m pipeline_tools.prepare_data complaints.csv data_local/complaints.csv
    python -m pipeline_tools.prepare_data complaints.csv data_local --spans month   # data_local/span-201503/...

With --spans, the output is a folder with one span per month (or quarter) in which complaints
were received ("Date received", which places a complaint in its span and is not a feature):
span-YYYYMM/complaints.csv (quarters: span-YYYYQ). CsvExampleGen reads spans with a {SPAN}
pattern (pipeline_tools/spans.py).

Quirks of real exports handled here:
  * a leading unnamed index column (header one name short, or named "" or
    "Unnamed: 0"), left behind when a pandas frame was saved with its index;
  * quoted newlines inside narratives: CsvExampleGen splits its input on line
    breaks, so they are replaced by spaces;
  * empty fields and masked ZIP codes such as "124XX", kept as they are;
  * malformed rows (wrong number of fields, undecodable bytes) are reported with
    their line number and skipped, or written to --rejects, or stop the run
    with --strict.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from pipeline_tools import columns

LABEL_VALUES: dict[str, str] = {"yes": "1", "no": "0"}
_INDEX_HEADER_NAMES = {"", "unnamed: 0"}
_WHITESPACE = re.compile(r"\s+")


class DataPreparationError(ValueError):
    """The input cannot be converted; the message names the file and the problem."""


@dataclasses.dataclass
class Rejected:
    """One input record that was not converted, with where and why."""

    line: int
    reason: str
    fields: list[str]


@dataclasses.dataclass
class Summary:
    """Counts of what the conversion did with each input record."""

    records: int = 0
    written: int = 0
    disputed: int = 0
    without_narrative: int = 0
    without_label: int = 0
    rejected: list[Rejected] = dataclasses.field(default_factory=list)
    spans: dict[int, int] = dataclasses.field(default_factory=dict)  # Rows written per span (with --spans).

    def __str__(self) -> str:
        """A one-paragraph report: what was read, written and skipped, and why."""
        rate = f"{self.disputed / self.written:.1%}" if self.written else "n/a"
        spans = f" in {len(self.spans)} spans ({min(self.spans)} to {max(self.spans)})" if self.spans else ""
        return (
            f"{self.records} records read, {self.written} written{spans} "
            f"({self.disputed} disputed, {rate}); skipped: "
            f"{self.without_narrative} without a narrative, "
            f"{self.without_label} without a Yes/No dispute value, "
            f"{len(self.rejected)} malformed"
        )


def _clean(value: str) -> str:
    """Collapses internal whitespace (newlines included) and strips the ends."""
    return _WHITESPACE.sub(" ", value).strip()


def _header_layout(header: Sequence[str], first_row: Sequence[str] | None) -> int:
    """Returns how many leading index fields each data row carries (0 or 1)."""
    if header and header[0].strip().lower() in _INDEX_HEADER_NAMES:
        return 0  # The index column has a (blank) name: fields and names line up.
    if first_row is not None and len(first_row) == len(header) + 1:
        return 1  # Header one name short: every row starts with an unnamed index.
    return 0


def _records(handle: TextIO) -> Iterator[tuple]:
    """Yields (first line number, fields) for each CSV record."""
    reader = csv.reader(handle)
    line = 1
    for fields in reader:
        yield line, fields
        line = reader.line_num + 1


SPAN_KINDS = ("month", "quarter")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-\d{2}")
_US_DATE = re.compile(r"^(\d{1,2})/\d{1,2}/(\d{4})$")


def span_of(date_received: str, kind: str) -> int:
    """The span a complaint received on this date belongs to: YYYYMM (month) or YYYYQ (quarter).

    CFPB exports write "Date received" as 2015-03-19 (older ones as 03/19/2015).
    """
    iso, us = _ISO_DATE.match(date_received), _US_DATE.match(date_received)
    if iso:
        year, month = int(iso.group(1)), int(iso.group(2))
    elif us:
        year, month = int(us.group(2)), int(us.group(1))
    else:
        raise ValueError(f"Date received {date_received!r} is not a date such as 2015-03-19")
    if not 1 <= month <= 12:
        raise ValueError(f"Date received {date_received!r} has no month {month}")
    return year * 100 + month if kind == "month" else year * 10 + (month - 1) // 3 + 1


def _layout(records, source_name: str, spans: str | None):
    """Reads the header: (first record, {column: position in a record}, fields per record).

    With spans, the positions include CFPB's "Date received" under its CFPB name.
    """
    try:
        _, header = next(records)
    except StopIteration:
        raise DataPreparationError(f"{source_name}: the file is empty (no header row)") from None
    header = [name.strip() for name in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    wanted = dict(columns.CFPB_NAMES, **({columns.CFPB_DATE_RECEIVED: columns.CFPB_DATE_RECEIVED} if spans else {}))
    missing = [name for name in wanted.values() if name not in header]
    if missing:
        raise DataPreparationError(
            f"{source_name}: missing CFPB column(s) {missing}; found {header}. "
            "Is this a CFPB consumer-complaint export?"
        )
    first = next(records, None)
    offset = _header_layout(header, first[1] if first else None)
    positions = {name: header.index(cfpb) + offset for name, cfpb in wanted.items()}
    return first, positions, len(header) + offset


def convert(
    source: TextIO, target_for: Callable[[int | None], TextIO], source_name: str = "<input>", spans: str | None = None
) -> Summary:
    """Converts CFPB export records read from `source` into tutorial CSV rows.

    Rows go to target_for(None), or with spans ("month" or "quarter") to target_for(span).
    """
    records = _records(source)
    first, positions, expected_fields = _layout(records, source_name, spans)
    date_position = positions.pop(columns.CFPB_DATE_RECEIVED, None)
    writers: dict[int | None, csv.writer] = {}
    summary = Summary()
    for line, fields in itertools.chain([first] if first else [], records):
        summary.records += 1
        if len(fields) != expected_fields:
            hint = " (an unbalanced quote joins lines)" if len(fields) < expected_fields else ""
            summary.rejected.append(
                Rejected(line, f"expected {expected_fields} fields, got {len(fields)}{hint}", fields)
            )
            continue
        if any(_has_undecodable_bytes(value) for value in fields):
            summary.rejected.append(Rejected(line, "bytes that are not UTF-8", fields))
            continue
        row = {name: _clean(fields[position]) for name, position in positions.items()}
        if not row[columns.NARRATIVE]:
            summary.without_narrative += 1
            continue
        label = LABEL_VALUES.get(row[columns.LABEL].lower())
        if label is None:
            summary.without_label += 1
            continue
        span = None
        if spans:
            try:
                span = span_of(fields[date_position].strip(), spans)
            except ValueError as error:
                summary.rejected.append(Rejected(line, str(error), fields))
                continue
            summary.spans[span] = summary.spans.get(span, 0) + 1
        row[columns.LABEL] = label
        row[columns.ZIP_CODE] = row[columns.ZIP_CODE].upper()
        if span not in writers:
            writers[span] = csv.writer(target_for(span), lineterminator="\n")
            writers[span].writerow(columns.ALL)
        writers[span].writerow([row[name] for name in columns.ALL])
        summary.written += 1
        summary.disputed += label == "1"
    return summary


def _has_undecodable_bytes(value: str) -> bool:
    """True when `value` holds bytes that were not valid UTF-8 (surrogate escapes)."""
    return any("\udc80" <= char <= "\udcff" for char in value)


def _write_rejects(rejects_path: str, summary: Summary) -> None:
    with open(rejects_path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["line", "reason", "fields"])
        for rejected in summary.rejected:
            writer.writerow([rejected.line, rejected.reason, *rejected.fields])


def _check_outcome(input_path: str, summary: Summary, strict: bool) -> None:
    """Raises when --strict met a malformed record, or when nothing could be written."""
    if strict and summary.rejected:
        first = summary.rejected[0]
        raise DataPreparationError(
            f"{input_path}: {len(summary.rejected)} malformed record(s), the first at "
            f"line {first.line}: {first.reason}; nothing was written (--strict)"
        )
    if summary.written == 0:
        raise DataPreparationError(
            f"{input_path}: no complaint has both a narrative and a Yes/No dispute value "
            f"({summary}); nothing was written"
        )


def _convert_to_folder(source: TextIO, input_path: str, output_dir: str, spans: str, strict: bool) -> Summary:
    """Writes span-N/complaints.csv files into a new folder beside output_dir, then puts them in its place."""
    parent = os.path.dirname(os.path.abspath(output_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=".spans-")
    handles: dict[int, TextIO] = {}

    def target_for(span):
        folder = os.path.join(staging, f"span-{span}")
        os.makedirs(folder)
        handles[span] = open(os.path.join(folder, "complaints.csv"), "w", newline="", encoding="utf-8")  # noqa: SIM115
        return handles[span]

    try:
        summary = convert(source, target_for, input_path, spans)
        for handle in handles.values():
            handle.close()
        _check_outcome(input_path, summary, strict)
        os.makedirs(output_dir, exist_ok=True)
        for old in os.listdir(output_dir):  # Spans of an earlier conversion go; other files stay.
            if old.startswith("span-"):
                shutil.rmtree(os.path.join(output_dir, old))
        for span in sorted(handles):
            os.replace(os.path.join(staging, f"span-{span}"), os.path.join(output_dir, f"span-{span}"))
        return summary
    finally:
        for handle in handles.values():
            handle.close()
        shutil.rmtree(staging, ignore_errors=True)


def prepare(
    input_path: str,
    output_path: str,
    rejects_path: str | None = None,
    strict: bool = False,
    spans: str | None = None,
) -> Summary:
    """Converts `input_path` into `output_path` (a CSV file, or with spans a folder of span-N/complaints.csv).

    Nothing half-written is left behind: the output appears only once the conversion succeeded.
    """
    if not os.path.isfile(input_path):
        raise DataPreparationError(f"{input_path}: no such file")
    if spans is not None and spans not in SPAN_KINDS:
        raise DataPreparationError(f"spans must be one of {SPAN_KINDS}, got {spans!r}")
    with open(input_path, newline="", encoding="utf-8-sig", errors="surrogateescape") as source:
        if spans:
            summary = _convert_to_folder(source, input_path, output_path, spans, strict)
        else:
            summary = _convert_to_file(source, input_path, output_path, strict)
    if rejects_path and summary.rejected:
        _write_rejects(rejects_path, summary)
    return summary


def _convert_to_file(source: TextIO, input_path: str, output_path: str, strict: bool) -> Summary:
    """Writes the rows next to output_path and renames the file into place once it is complete."""
    output_dir = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(output_dir, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=output_dir, suffix=".partial", delete=False, newline="", encoding="utf-8"
    ) as target:
        try:
            summary = convert(source, lambda span: target, input_path)
            _check_outcome(input_path, summary, strict)
        except BaseException:
            target.close()
            os.unlink(target.name)
            raise
    os.chmod(target.name, 0o644)  # NamedTemporaryFile creates it private (0600).
    os.replace(target.name, output_path)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="a CFPB complaints export (CSV)")
    parser.add_argument("output", help="where to write the tutorial CSV (with --spans: a folder)")
    parser.add_argument("--rejects", help="also write malformed records to this CSV")
    parser.add_argument("--strict", action="store_true", help="fail on any malformed record")
    parser.add_argument(
        "--spans", choices=SPAN_KINDS, help="one span per month (or quarter) of 'Date received', in a folder"
    )
    args = parser.parse_args(argv)
    try:
        summary = prepare(args.input, args.output, args.rejects, args.strict, args.spans)
    except DataPreparationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for rejected in summary.rejected[:20]:
        print(f"warning: line {rejected.line}: {rejected.reason}; skipped", file=sys.stderr)
    if len(summary.rejected) > 20:
        print(f"warning: ... and {len(summary.rejected) - 20} more", file=sys.stderr)
    print(f"{args.output}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
