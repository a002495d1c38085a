#!/usr/bin/env bash
# The main job: set up the environment, then execute the local tutorial notebook end to end
# with papermill. The executed notebook, the pipeline's artifacts and ML Metadata, and the
# pushed model all land under outputs/local/. Extra arguments go to papermill (-p NAME VALUE).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=$("$repo/scripts/setup_env.sh")
export PATH="$(dirname "$python"):$PATH"  # The notebook kernel must be the venv's Python.
out="$repo/outputs/local"
mkdir -p "$out"
notebook=tfx_pipeline_interactive.ipynb
"$python" -m papermill "$repo/notebooks/local/$notebook" "$out/$notebook" \
  --cwd "$repo/notebooks/local" -p output_root "$out" --progress-bar "$@"
echo
echo "executed notebook: $out/$notebook"
echo "outcome (also in $out/outcome.txt):"
sed 's/^/  /' "$out/outcome.txt"
