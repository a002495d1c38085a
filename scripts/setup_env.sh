#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment in .venv with a Python that one of the
# two supported TFX stacks runs on, and installs requirements.txt into it.
#   stack A: Python 3.10 (any glibc >= 2.17)              -> tfx 1.16.0
#   stack B: Python 3.11-3.13 on glibc >= 2.39 (Colab)    -> tfx 1.21.0
# PYTHON=/path/to/python overrides the search. Prints the venv's python path on success.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="$repo/.venv"

glibc_version() { ldd --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$' || echo 0.0; }
py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

supported() {  # supported PYTHON -> 0 when a stack runs on it here
  local v; v=$(py_version "$1") || return 1
  case "$v" in
    3.10) return 0 ;;
    3.11|3.12|3.13) version_ge "$(glibc_version)" 2.39 ;;
    *) return 1 ;;
  esac
}

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    supported "$PYTHON" && { echo "$PYTHON"; return 0; }
    echo "error: PYTHON=$PYTHON (Python $(py_version "$PYTHON" || echo '?')) fits no supported stack here (glibc $(glibc_version))." >&2
    return 1
  fi
  local candidates=(python3 python3.13 python3.12 python3.11 python3.10)
  local pyenv_root; pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$pyenv_root"/versions/3.1[0-3]*/bin/python3; do [ -x "$p" ] && candidates+=("$p"); done
  for p in "${candidates[@]}"; do
    local path; path=$(command -v "$p" 2>/dev/null) || continue
    supported "$path" && { echo "$path"; return 0; }
  done
  cat >&2 <<MSG
error: no Python here runs a supported TFX stack (this machine: glibc $(glibc_version), python3 is $(py_version python3 || echo 'missing')).
  tfx 1.21 (Python 3.11-3.13) needs glibc >= 2.39: its ml-metadata and TFDV wheels are manylinux_2_39.
  tfx 1.16 runs on any glibc but needs Python 3.10.
Install Python 3.10, e.g. 'pyenv install 3.10.13' or 'apt-get install python3.10 python3.10-venv',
then run this again (or point PYTHON=/path/to/python3.10 at it).
MSG
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! supported "$venv/bin/python"; then
  python=$(find_python)
  echo "creating $venv with $python (Python $(py_version "$python"))" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

stamp="$venv/.requirements.sha256"
wanted=$(cat "$repo/requirements.txt" "$repo/constraints.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "installing requirements.txt into $venv (a few minutes the first time)..." >&2
  "$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v "is ignored" || true; } >&2
  if [ -t 2 ]; then  # A terminal: pip's download progress bars (about 2.5 GB).
    "$venv/bin/python" -m pip install --progress-bar on -r "$repo/requirements.txt" >&2
  else  # CI and other logs: quiet.
    "$venv/bin/python" -m pip install -q -r "$repo/requirements.txt" 2>&1 | { grep -v "is ignored" || true; } >&2
  fi
  "$venv/bin/python" - <<'PY' >&2
import sys
from importlib.metadata import version
expected = "1.16.0" if sys.version_info[:2] == (3, 10) else "1.21.0"
if version("tfx") != expected:
    sys.exit(f"error: tfx {version('tfx')} was installed, expected {expected}")
print(f"Python {sys.version.split()[0]}, tfx {version('tfx')}: ready")
PY
  echo "$wanted" > "$stamp"
fi
echo "$venv/bin/python"
