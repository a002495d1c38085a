"""The output policy for committed notebooks, applied (default) or checked (--check).

A committed notebook keeps the outputs of cells marked `# NBVAL_CHECK_OUTPUT` only (nbval
compares them with a fresh run, so they are part of the test; nbval also needs their execution
count) and nothing else: no other outputs or execution counts, no papermill or kernel run
metadata. Diffs then show source
changes only, and no run's paths, timings or data leak into the repository.

    python -m pipeline_tools.notebook_policy                  # clean every notebook under notebooks/
    python -m pipeline_tools.notebook_policy --check a.ipynb  # exit 1 and name the cells that break it
"""

import argparse
import glob
import os
import sys
from collections.abc import Sequence

import nbformat

from pipeline_tools.settings import REPO_ROOT

CHECKED_MARK = "# NBVAL_CHECK_OUTPUT"
RUN_METADATA = ("papermill", "execution", "collapsed", "scrolled")


def clean(notebook) -> list[str]:
    """Applies the policy in place; returns what it changed, one line per cell."""
    changes = []
    for key in ("papermill",):
        if key in notebook.metadata:
            del notebook.metadata[key]
            changes.append(f"notebook metadata {key!r}")
    for index, cell in enumerate(notebook.cells):
        for key in RUN_METADATA:
            if key in cell.metadata:
                del cell.metadata[key]
                changes.append(f"cell {index}: metadata {key!r}")
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(CHECKED_MARK) and cell.outputs:
            # nbval skips a cell with outputs but no execution count ("unrun reference cell").
            if cell.execution_count is None:
                cell.execution_count = 1
                changes.append(f"cell {index}: checked outputs without an execution count")
            continue
        if cell.execution_count is not None:
            cell.execution_count = None
            changes.append(f"cell {index}: execution count")
        if cell.outputs:
            cell.outputs = []
            changes.append(f"cell {index}: outputs of a cell nbval does not check")
    return changes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="default: notebooks/*/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook breaks the policy")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(glob.glob(os.path.join(REPO_ROOT, "notebooks", "*", "*.ipynb")))
    broken = 0
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        changes = clean(notebook)
        if not changes:
            continue
        if args.check:
            broken += 1
            print(f"{path}: " + "; ".join(changes), file=sys.stderr)
        else:
            nbformat.write(notebook, path)
            print(f"cleaned {path} ({len(changes)} changes)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
