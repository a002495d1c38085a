#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment in .venv with a Python that one of the
# supported TFX stacks runs on, and installs requirements-dev.txt into it (the tutorial's
# requirements.txt and the tools to develop and test it, pinned by constraints.txt). The stacks are defined once,
# in pipeline_tools/preflight.py (standard library only), which this script asks.
# PYTHON=/path/to/python overrides the search. Prints the venv's python path on success.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"

py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
supported() { (cd "$repo" && "$1" -m pipeline_tools.preflight --fits) 2>/dev/null; }

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    supported "$PYTHON" && { echo "$PYTHON"; return 0; }
    echo "error: PYTHON=$PYTHON (Python $(py_version "$PYTHON" || echo '?')) fits no supported stack here:" >&2
    (cd "$repo" && "$PYTHON" -m pipeline_tools.preflight >&2) || true
    return 1
  fi
  local candidates=(python3 python3.13 python3.12 python3.11 python3.10)
  local pyenv_root; pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$pyenv_root"/versions/3.1[0-3]*/bin/python3; do [ -x "$p" ] && candidates+=("$p"); done
  for p in "${candidates[@]}"; do
    local path; path=$(command -v "$p" 2>/dev/null) || continue
    supported "$path" && { echo "$path"; return 0; }
  done
  echo "error: no Python here runs a supported TFX stack. What python3 says:" >&2
  (cd "$repo" && python3 -m pipeline_tools.preflight >&2) || true
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! supported "$venv/bin/python"; then
  python=$(find_python)
  echo "creating $venv with $python (Python $(py_version "$python"))" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

stamp="$venv/.requirements.sha256"
wanted=$(cat "$repo/requirements.txt" "$repo/requirements-dev.txt" "$repo/constraints.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "installing requirements-dev.txt into $venv (a few minutes the first time)..." >&2
  "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored" || true; } >&2
  if [ -t 2 ]; then  # A terminal: pip's download progress bars (about 2.5 GB).
    "$venv/bin/python" -m pip install --progress-bar on -r "$repo/requirements-dev.txt" >&2
  else  # CI and other logs: quiet.
    "$venv/bin/python" -m pip install -q -r "$repo/requirements-dev.txt" 2>&1 | { grep -v "is ignored" || true; } >&2
  fi
  expected=$(cd "$repo" && "$venv/bin/python" -m pipeline_tools.preflight --expected-tfx)
  installed=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("tfx"))')
  if [ "$installed" != "$expected" ]; then
    echo "error: tfx $installed was installed, expected $expected" >&2
    exit 1
  fi
  echo "Python $(py_version "$venv/bin/python"), tfx $installed: ready" >&2
  echo "$wanted" > "$stamp"
fi
echo "$venv/bin/python"
