"""JupyterLab on 127.0.0.1 and headless Chromium, to look at executed notebooks as a reader does.

The browser is Debian's `chromium` (`apt install chromium`), driven by Playwright's Python package
pointed at that binary: nothing is downloaded. `why_not()` says why a browser test cannot run here.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root, in a container, on a machine without a network: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# JupyterLab's own settings for the test: every cell in the page (JupyterLab 4 otherwise attaches
# only the cells in view), and no question about fetching Jupyter's news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def why_not() -> str | None:
    """None when the browser test can run here, else the reason (and the fix)."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}: apt install chromium (Debian), or set CHROMIUM"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: scripts/setup_env.sh installs requirements-dev.txt"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root_dir: Path, log_path: Path) -> Iterator[str]:
    """Starts JupyterLab (this Python's, with this environment's kernel) on root_dir; yields its URL with the token."""
    settings = Path(tempfile.mkdtemp(prefix="lab-settings-"))
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    # Its own workspace too: JupyterLab otherwise restores (and saves) the layout of the last session
    # in ~/.jupyter/lab/workspaces, tabs of notebooks from other folders included.
    env = dict(
        os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces")
    )
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; see {log_path}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/{{}}?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(settings, ignore_errors=True)


@contextlib.contextmanager
def browser() -> Iterator:
    """A headless Chromium page, 1400 x 1000."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            chromium.close()


# What the page shows, per code cell in order: its outputs with their kind, size and text.
READ_CELLS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => ({
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
  source: cell.querySelector('.jp-InputArea-editor').textContent.slice(0, 120),
  outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(output => {
    const box = output.getBoundingClientRect();
    return {
      mime: output.getAttribute('data-mime-type') || '',
      width: box.width, height: box.height,
      // How far anything drawn in the output reaches past its right edge (off the page, or scrolled).
      overflow: Math.max(0, ...[...output.querySelectorAll('*')].map(e => e.getBoundingClientRect().right - box.right)),
      text: output.innerText.slice(0, 2000),
      tables: [...output.querySelectorAll('table')].map(
        t => [t.getBoundingClientRect().width, t.getBoundingClientRect().height]),
      images: [...output.querySelectorAll('img')].map(i => [i.naturalWidth, i.getBoundingClientRect().height]),
    };
  }),
}))"""


KERNEL_STATUS = "() => (document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar') || document.body).innerText"


def open_notebook(page, url: str, timeout_s: float = 90) -> list[dict]:
    """Opens the notebook at url, waits until its kernel is idle, and returns what READ_CELLS reads.

    The kernel of this environment starts with the notebook; "Idle" in the status bar means it runs.
    A page whose kernel does not say Idle in half the time is loaded once more, as a reader would;
    if it still does not, the error quotes the status bar.
    """
    from playwright.sync_api import TimeoutError as PageTimeout

    for attempt in (1, 2):
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=timeout_s * 1000)
        try:
            page.wait_for_function("() => document.body.innerText.includes('| Idle')", timeout=timeout_s / 2 * 1000)
            break
        except PageTimeout:
            status = " ".join(page.evaluate(KERNEL_STATUS).split())[:300]
            if attempt == 2:
                raise AssertionError(
                    f"the kernel never said Idle in {timeout_s:.0f} s; the status bar: {status!r}"
                ) from None
            print(f"kernel not idle after {timeout_s / 2:.0f} s (status bar: {status!r}); loading the page again")
    page.wait_for_function(  # Every image decoded.
        "() => [...document.querySelectorAll('.jp-OutputArea-output img')].every(i => i.complete)",
        timeout=timeout_s * 1000,
    )
    return page.evaluate(READ_CELLS)


def expected_outputs(notebook_path: Path) -> list[int]:
    """Per code cell, how many outputs JupyterLab draws: consecutive stream outputs of one name are one.

    An output holding only JavaScript draws nothing: Apache Beam sends one (loading jQuery for its
    Interactive Beam tables, which TFX does not use) the first time a Beam pipeline is built in a
    notebook kernel.
    """
    import nbformat

    counts = []
    for cell in nbformat.read(str(notebook_path), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        count, previous = 0, None
        for output in cell.outputs:
            if set(output.get("data", {})) == {"application/javascript"}:
                previous = None  # Not drawn, but the streams around it stay two.
                continue
            stream = output.get("name") if output.output_type == "stream" else None
            if stream is None or stream != previous:
                count += 1
            previous = stream
        counts.append(count)
    return counts
