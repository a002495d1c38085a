#!/usr/bin/env bash
# Runs the benchmark (python -m benchmarks) in the project's environment, creating it first if
# needed, and writes benchmarks/results/<python>-tfx<version>.{md,json,png} and summary.md. About
# 35 minutes on 2 cores; --quick runs each measurement once, small. Extra arguments go to python -m benchmarks.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$("$repo/scripts/setup_env.sh")
cd "$repo"
exec "$python" -m benchmarks "$@"
