#!/usr/bin/env bash
# Re-creates constraints.txt, the exact versions of every package of both stacks, from the
# top-level pins in requirements.txt. Needs uv (pip install uv) and the package index.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
input=$(mktemp --suffix=.in)
trap 'rm -f "$input"' EXIT
grep -v '^-c ' "$repo/requirements.txt" > "$input"  # Resolve afresh, not against the old lock.
uv pip compile "$input" --universal --python-version 3.10 --quiet \
  --custom-compile-command "scripts/lock_requirements.sh" -o "$repo/constraints.txt"
