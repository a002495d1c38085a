"""The Colab stand-in's two host-side steps (scripts/colab_stand_in.sh runs them with the repository on
PYTHONPATH): which of Colab's packages pip can install here, and the report of a run.

    python3 report.py installable FREEZE INSTALLABLE LEFT_OUT
    python3 report.py report WORK TIMINGS REPORT_MD

Standard library only.
"""

import dataclasses
import datetime
import json
import os
import re
import subprocess
import sys

from pipeline_tools import colab

# The lines of Colab's freeze that pip cannot install from the package index, and why
# (../shared/data/colab/SOURCE.md): built from Colab's own sources, from git, direct URLs, Ubuntu's
# system libraries, a version that is not on the index, native build dependencies.
CANNOT_INSTALL = {
    "google-colab": "built from Colab's own sources, not published",
    "jupyter-kernel-gateway": "Colab's fork, from git",
    "python-apt": "needs Ubuntu's system libraries",
    "dbus-python": "needs Ubuntu's system libraries",
    "pygobject": "needs Ubuntu's system libraries",
    "pycairo": "needs Ubuntu's system libraries",
    "gdal": "needs Ubuntu's system libraries",
    "mako": "1.3.2.dev0 is not on the package index",
    "cyipopt": "native build dependencies",
    "rpy2": "native build dependencies",
}
INSTALL = "Colab's packages"  # The step's name in timings.tsv (scripts/colab_stand_in.sh).
SUMMARY = ("<!-- colab stand-in summary -->", "<!-- /colab stand-in summary -->")


def installable(freeze: str, kept: str, left_out: str) -> None:
    with open(freeze, encoding="utf-8") as source, open(kept, "w") as good, open(left_out, "w") as bad:
        for line in source:
            line = line.strip()
            name = colab.normalized(re.split(r"[=@ ]", line, maxsplit=1)[0])
            if "@" in line:
                bad.write(f"{line.split(' @ ')[0]}\ta direct URL (not the package index)\n")
            elif name in CANNOT_INSTALL:
                bad.write(f"{line}\t{CANNOT_INSTALL[name]}\n")
            elif line:
                good.write(line + "\n")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _lines(path: str) -> list[str]:
    return [line for line in _read(path).splitlines() if line.strip() and line != "No broken requirements found."]


def _notebook(report: dict) -> str:
    errors = [cell for cell in report["cells"] if cell["error"]]
    if errors:
        return f"stopped at code cell {errors[0]['index']}: {errors[0]['error'][0]}: {errors[0]['error'][1][:200]}"
    return f"{len(report['cells'])} code cells, no error"


def _freeze_diff(before: dict, after: dict) -> tuple[dict, dict, dict]:
    changed = {name: (before[name], after[name]) for name in before if name in after and before[name] != after[name]}
    added = {name: after[name] for name in after if name not in before}
    removed = {name: before[name] for name in before if name not in after}
    return changed, added, removed


@dataclasses.dataclass(frozen=True)
class Run:
    """What one run of the stand-in left in its work folder."""

    seconds: dict[str, str]
    setup: dict
    local: dict
    vertex: dict
    before: dict[str, str]  # Colab's packages as installed: pip freeze.
    after: dict[str, str]  # After the setup cell.
    checks: dict[str, list[str]]  # pip check's lines, before ("colab") and after.
    left_out: list[str]
    python: list[str]  # Python version, libc, libc version.
    install_seconds: str  # Installing Colab's packages, when the snapshot later runs restore was made.
    restored: bool  # This run restored them from that snapshot.

    @classmethod
    def read(cls, work: str, timings: str) -> "Run":
        notebooks = {name: json.loads(_read(f"{work}/{name}.json")) for name in ("setup", "local", "vertex")}
        return cls(
            seconds=dict(line.split("\t") for line in _read(timings).splitlines()),
            **notebooks,
            before=colab.pins(f"{work}/colab-freeze.txt"),
            after=colab.pins(f"{work}/after-freeze.txt"),
            checks={name: _lines(f"{work}/{name}-check.txt") for name in ("colab", "after")},
            left_out=_lines(f"{work}/colab-left-out.txt"),
            python=_read(f"{work}/python.txt").split(),
            install_seconds=_read(f"{work}/colab-install-seconds.txt").strip(),
            restored=os.path.exists(f"{work}/colab-restored"),
        )

    @property
    def kernel(self) -> dict[str, tuple[str | None, str | None]]:
        return {name: (self.before.get(name), self.after.get(name)) for name in colab.KERNEL_STACK}


def _summary(run: Run) -> list[str]:
    changed, added, removed = _freeze_diff(run.before, run.after)
    kept = all(old == new for old, new in run.kernel.values())
    setup_text = run.setup["cells"][-1]["text"]
    outcome = [line for cell in run.local["cells"] for line in cell["text"].splitlines() if line.startswith("outcome:")]
    kernel = run.local["kernel"]
    rows = [
        ("Colab's packages in the system Python (no virtual environment)",
         f"{len(run.before)} installed; {len(run.left_out)} lines of Colab's list left out (below)"
         + (f"; the install's time, this run restored them from its snapshot in {run.seconds[INSTALL]} s"
            if run.restored else ""),
         INSTALL),
        ("the setup cell (`pip install -r requirements-colab.txt`)",
         "ends with the restart message" if "Restart the session" in setup_text else "did not end as expected",
         "setup cell (install)"),
        ("`pip check`",
         f"{len(run.checks['colab'])} broken requirements before (Colab's own), {len(run.checks['after'])} after", ""),
        ("what the install changed",
         f"{len(changed)} of Colab's packages changed, {len(added)} added, {len(removed)} removed; "
         f"the kernel stack {'unchanged' if kept else 'CHANGED'}", ""),
        ("the restart: a new kernel",
         f"starts ({kernel['implementation']} {kernel['version']}) in {run.local['kernel_start_seconds']} s", ""),
        ("the local notebook, every cell", _notebook(run.local) + (f"; {outcome[-1]}" if outcome else ""),
         "local notebook (after a restart)"),
        ("the Vertex AI notebook (dry run)", _notebook(run.vertex), "Vertex AI notebook (dry run)"),
    ]  # fmt: skip
    table = ["| step | result | seconds |", "| --- | --- | ---: |"]
    seconds = {**run.seconds, INSTALL: run.install_seconds}
    return [SUMMARY[0], *table, *[f"| {a} | {b} | {seconds.get(c, '')} |" for a, b, c in rows], SUMMARY[1]]


def _differences(run: Run) -> list[str]:
    left_out = [f"  - `{line.split(chr(9))[0]}`: {line.split(chr(9))[-1]}" for line in run.left_out]
    return [
        "## How the stand-in differs from Colab",
        "",
        f"- Debian 13, Python {run.python[0]}, glibc {run.python[2]}; Colab's default runtime is Ubuntu 24.04.4,",
        "  Python 3.13.15, glibc 2.39. The wheels TFX 1.21 needs (manylinux_2_39) install on both; Ubuntu's own",
        "  Python packages (python-apt and the like) are not here. Two cores, no GPU (Colab's default has none).",
        "- The repository is copied where the setup cell would clone it (`/content/tfx-cfpb-tutorial`), as",
        "  committed: the cell finds it there and skips the clone (GitHub cannot be reached from here).",
        "- `google.colab` is the stand-in's own (`tests/colab_stand_in/google_colab.py`), registered at kernel",
        "  start as Colab registers its own: it is what makes the notebooks take their Colab branch.",
        f"- Lines of Colab's package list pip cannot install here, left out ({len(run.left_out)}):",
        *left_out,
        "",
    ]


def _changes(run: Run) -> list[str]:
    changed, added, removed = _freeze_diff(run.before, run.after)
    return [
        "## The kernel stack (Colab warns that upgrading it can make the runtime crash)",
        "",
        "| package | Colab's | after the setup cell |",
        "| --- | --- | --- |",
        *[f"| {name} | {old} | {new} |" for name, (old, new) in run.kernel.items()],
        "",
        "## What the setup cell changed (`pip freeze`, before and after)",
        "",
        "| package | Colab's | after |",
        "| --- | --- | --- |",
        *[f"| {name} | {old} | {new} |" for name, (old, new) in sorted(changed.items())],
        "",
        f"Added ({len(added)}): " + ", ".join(f"{name} {version}" for name, version in sorted(added.items())),
        "",
        f"Removed ({len(removed)}): " + (", ".join(sorted(removed)) or "none"),
        "",
        "## `pip check`",
        "",
        f"Before the setup cell (Colab's packages as they are, {len(run.checks['colab'])}):",
        "",
        "```",
        *run.checks["colab"],
        "```",
        "",
        f"After it ({len(run.checks['after'])}):",
        "",
        "```",
        *run.checks["after"],
        "```",
        "",
        "## The setup cell's last lines",
        "",
        "```",
        *run.setup["cells"][-1]["text"].strip().splitlines()[-6:],
        "```",
        "",
    ]


def report(work: str, timings: str, out: str) -> None:
    """Writes the report of the run whose files are in work (the summary first: the README quotes it)."""
    run = Run.read(work, timings)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    made = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
    head = [
        "# Google Colab as a reader meets it: the Colab stand-in's report",
        "",
        f"Made by `scripts/colab_stand_in.sh` (`make colab-stand-in`) at commit {commit}, {made}: Colab's",
        f"preinstalled packages in a system Python {run.python[0]} (glibc {run.python[2]}), then the notebooks as a",
        "reader runs them.",
        "",
    ]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join([*head, *_summary(run), "", *_differences(run), *_changes(run)]))


if __name__ == "__main__":
    {"installable": installable, "report": report}[sys.argv[1]](*sys.argv[2:])
