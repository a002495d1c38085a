#!/usr/bin/env bash
# Runs the benchmark (benchmarks/run.py) in the project's environment, creating it first if
# needed, and writes benchmarks/results/<python>-tfx<version>.{md,json,png} and summary.md. About
# 35 minutes on 2 cores; --quick runs each measurement once, small. Extra arguments go to benchmarks/run.py.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$("$repo/scripts/setup_env.sh")
cd "$repo"
exec "$python" benchmarks/run.py "$@"
