#!/usr/bin/env bash
# Runs the whole test suite (unit tests, papermill and nbval runs of the notebooks) in the
# project's environment, creating it first if needed. Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$("$repo/scripts/setup_env.sh")
export PATH="$(dirname "$python"):$PATH"  # Notebook kernels must be the venv's Python.
cd "$repo"
exec "$python" -m pytest tests "$@"
