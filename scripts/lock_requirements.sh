#!/usr/bin/env bash
# Re-creates constraints.txt, the exact versions of every package of both stacks, from the
# top-level pins in requirements.txt. Needs uv (pip install uv) and the package index.
# uv keeps the versions already in constraints.txt where they still fit, so adding a package
# does not move the others.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -v '^-c ' "$repo/requirements.txt" > "$work/requirements.in"  # The lock's input, without the lock.
cd "$work"
uv pip compile requirements.in --universal --python-version 3.10 --quiet \
  --custom-compile-command "scripts/lock_requirements.sh" -o "$repo/constraints.txt"
