#!/usr/bin/env bash
# Re-creates the locks from the top-level pins. Needs uv (pip install uv) and the package index.
#   constraints.txt          the exact versions of every package of both stacks (requirements.txt and
#                            requirements-dev.txt), for local setup and CI;
#   requirements-colab.txt   what the notebooks' setup cell installs on Google Colab: requirements.txt
#                            for Colab's Python (3.13, glibc 2.39), keeping every version Colab already
#                            has wherever TFX allows it, and Colab's kernel stack exactly
#                            (tests/colab_stand_in/pip-freeze.txt is Colab's list of packages).
# uv keeps the versions already in a lock where they still fit, so adding a package does not move the others.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
colab_freeze="$repo/tests/colab_stand_in/pip-freeze.txt"

# The lock's input: both requirement files, without the lock itself and the include.
grep -hv '^-[cr] ' "$repo/requirements.txt" "$repo/requirements-dev.txt" > "$work/requirements.in"
(cd "$work" && uv pip compile requirements.in --universal --python-version 3.10 --quiet \
  --custom-compile-command "scripts/lock_requirements.sh" -o "$repo/constraints.txt")

# Colab: the tutorial's requirements for Python 3.13; a package Colab already has is not pinned, so
# Colab's version stays unless TFX needs another.
(cd "$repo" && python3 -m pipeline_tools.colab lock-inputs "$colab_freeze" "$work")
cp "$work/colab-preferences.txt" "$work/requirements-colab.txt"  # uv prefers the pins of the file it rewrites.
(cd "$work" && uv pip compile colab.in --python-version 3.13 --python-platform x86_64-manylinux_2_39 \
  --constraint colab-kernel.txt --quiet --no-header -o requirements-colab.txt)
{
  echo "# Google Colab's install (the notebooks' setup cell): requirements.txt for Colab's Python 3.13,"
  echo "# Colab's own versions kept wherever TFX allows, Colab's kernel stack held. Made by scripts/lock_requirements.sh."
  cat "$work/requirements-colab.txt"
} > "$repo/requirements-colab.txt"
