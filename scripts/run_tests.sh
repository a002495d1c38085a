#!/usr/bin/env bash
# Runs the test suite (unit tests, papermill and nbval runs of the notebooks, the browser test)
# in the project's environment, creating it first if needed, one pytest-xdist worker per core
# (TEST_WORKERS=1 for one process). Extra arguments go to pytest: test paths (default: tests),
# -m "not slow" for the fast tests (make test-fast), -k, -x...
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$("$repo/scripts/setup_env.sh")
export PATH="$(dirname "$python"):$PATH"  # Notebook kernels must be the venv's Python.
cd "$repo"
paths=(tests)
for argument in "$@"; do
  case "$argument" in tests/*|tests) paths=() ;; esac  # The caller names what to run.
done
# Tests sharing a fixture stay in one worker (tests/conftest.py); --dist loadgroup reads that.
exec "$python" -m pytest -n "${TEST_WORKERS:-auto}" --dist loadgroup "${paths[@]}" "$@"
