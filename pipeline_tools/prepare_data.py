"""Converts a CFPB consumer-complaint export into the tutorial's CSV schema.

The CFPB publishes its database as a CSV with human-readable column names
("Consumer complaint narrative", "Consumer disputed?", ...). The pipeline reads a
CSV with the tutorial's snake_case schema instead, keeps only complaints that
have a narrative and a Yes/No dispute value, and turns the label into 0/1.

    python -m pipeline_tools.prepare_data complaints.csv data_local/complaints.csv

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
import sys
import tempfile
from collections.abc import Iterator, Sequence
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

    def describe(self) -> str:
        """Returns a one-paragraph human-readable report."""
        rate = f"{self.disputed / self.written:.1%}" if self.written else "n/a"
        return (
            f"{self.records} records read, {self.written} written "
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


def convert(source: TextIO, target: TextIO, source_name: str = "<input>") -> Summary:
    """Converts CFPB export records read from `source` into tutorial CSV rows."""
    records = _records(source)
    try:
        _, header = next(records)
    except StopIteration:
        raise DataPreparationError(f"{source_name}: the file is empty (no header row)") from None
    header = [name.strip() for name in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    missing = [name for name in columns.CFPB_NAMES.values() if name not in header]
    if missing:
        raise DataPreparationError(
            f"{source_name}: missing CFPB column(s) {missing}; found {header}. "
            "Is this a CFPB consumer-complaint export?"
        )

    first = next(records, None)
    offset = _header_layout(header, first[1] if first else None)
    positions = {name: header.index(cfpb) + offset for name, cfpb in columns.CFPB_NAMES.items()}
    expected_fields = len(header) + offset

    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(columns.ALL)
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
        row[columns.LABEL] = label
        row[columns.ZIP_CODE] = row[columns.ZIP_CODE].upper()
        writer.writerow([row[name] for name in columns.ALL])
        summary.written += 1
        summary.disputed += label == "1"
    return summary


def _has_undecodable_bytes(value: str) -> bool:
    """True when `value` holds bytes that were not valid UTF-8 (surrogate escapes)."""
    return any("\udc80" <= char <= "\udcff" for char in value)


def prepare(
    input_path: str,
    output_path: str,
    rejects_path: str | None = None,
    strict: bool = False,
) -> Summary:
    """Converts `input_path` into `output_path`, writing the output atomically."""
    if not os.path.isfile(input_path):
        raise DataPreparationError(f"{input_path}: no such file")
    output_dir = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(output_dir, exist_ok=True)
    with open(input_path, newline="", encoding="utf-8-sig", errors="surrogateescape") as source:
        # Write next to the target and rename, so a failure never leaves half a file.
        with tempfile.NamedTemporaryFile(
            "w", dir=output_dir, suffix=".partial", delete=False, newline="", encoding="utf-8"
        ) as target:
            try:
                summary = convert(source, target, input_path)
            except BaseException:
                target.close()
                os.unlink(target.name)
                raise
    if strict and summary.rejected:
        os.unlink(target.name)
        first = summary.rejected[0]
        raise DataPreparationError(
            f"{input_path}: {len(summary.rejected)} malformed record(s), the first at "
            f"line {first.line}: {first.reason}; nothing was written (--strict)"
        )
    if summary.written == 0:
        os.unlink(target.name)
        raise DataPreparationError(
            f"{input_path}: no complaint has both a narrative and a Yes/No dispute value "
            f"({summary.describe()}); nothing was written"
        )
    os.chmod(target.name, 0o644)  # NamedTemporaryFile creates it private (0600).
    os.replace(target.name, output_path)
    if rejects_path and summary.rejected:
        with open(rejects_path, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["line", "reason", "fields"])
            for rejected in summary.rejected:
                writer.writerow([rejected.line, rejected.reason, *rejected.fields])
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="a CFPB complaints export (CSV)")
    parser.add_argument("output", help="where to write the tutorial CSV")
    parser.add_argument("--rejects", help="also write malformed records to this CSV")
    parser.add_argument("--strict", action="store_true", help="fail on any malformed record")
    args = parser.parse_args(argv)
    try:
        summary = prepare(args.input, args.output, args.rejects, args.strict)
    except DataPreparationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for rejected in summary.rejected[:20]:
        print(f"warning: line {rejected.line}: {rejected.reason}; skipped", file=sys.stderr)
    if len(summary.rejected) > 20:
        print(f"warning: ... and {len(summary.rejected) - 20} more", file=sys.stderr)
    print(f"{args.output}: {summary.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
