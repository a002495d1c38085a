"""Runs a notebook's cells in a kernel as a Colab reader does, and says what happened, as JSON.

    python3 drive.py setup NOTEBOOK          # the cells up to the setup cell: it installs, then asks for a restart
    python3 drive.py run NOTEBOOK            # a new kernel (a restart), then every cell, as "Run all" does

It runs inside the Colab stand-in (scripts/colab_stand_in.sh) with Colab's own Python and kernel
(ipykernel, jupyter_client: Colab's versions), each kernel started in /content as Colab starts it.
Standard library and jupyter_client only: it must not bring a package Colab does not have.
"""

import json
import sys
import time

from jupyter_client.manager import start_new_kernel


def code_cells(notebook: str) -> list[str]:
    with open(notebook, encoding="utf-8") as handle:
        cells = json.load(handle)["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def execute(client, source: str, timeout: float) -> dict:
    """One cell: its printed text, its error (ename, evalue) if any, and its seconds."""
    printed, error = [], None

    def hook(message):
        nonlocal error
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            printed.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            error = (content["ename"], content["evalue"])

    started = time.monotonic()
    client.execute_interactive(source, timeout=timeout, output_hook=hook, allow_stdin=False)
    return {"text": "".join(printed), "error": error, "seconds": round(time.monotonic() - started, 1)}


def run_cells(notebook: str, up_to_setup: bool) -> dict:
    """A new kernel; the notebook's code cells in order (to the first error, or to the setup cell)."""
    started = time.monotonic()
    manager, client = start_new_kernel(kernel_name="python3", cwd="/content")
    try:
        info = client.kernel_info(reply=True, timeout=60)["content"]
        report = {
            "kernel": {"implementation": info.get("implementation"), "version": info.get("implementation_version")},
            "kernel_start_seconds": round(time.monotonic() - started, 1),
            "cells": [],
        }
        for index, source in enumerate(code_cells(notebook)):
            result = execute(client, source, timeout=3600)
            report["cells"].append({"index": index, **result})
            if result["error"] or (up_to_setup and "notebook.setup()" in source):
                break
        report["seconds"] = round(time.monotonic() - started, 1)
        return report
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main(argv: list[str]) -> int:
    mode, notebook = argv
    report = run_cells(notebook, up_to_setup=(mode == "setup"))
    json.dump(report, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
