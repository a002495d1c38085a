#!/usr/bin/env bash
# Sets up the environment, then opens the local notebook in JupyterLab from .venv: the kernel is
# this environment's Python ("Python 3 (ipykernel)"), with the pinned TFX stack.
# JupyterLab listens on 127.0.0.1 only; open the http://127.0.0.1:8888/lab?token=... address it prints
# if no browser opens by itself. Extra arguments go to `jupyter lab` (for example --port 8890).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$("$repo/scripts/setup_env.sh")
export PATH="$(dirname "$python"):$PATH"  # %tensorboard and other tools from the same environment.
cd "$repo"
args=(--ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$repo")
[ "$(id -u)" = 0 ] && args+=(--allow-root)  # Containers and CI run as root.
exec "$python" -m jupyter lab "${args[@]}" "$@" notebooks/local/tfx_pipeline_interactive.ipynb
