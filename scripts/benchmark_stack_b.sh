#!/usr/bin/env bash
# Runs the benchmark (python -m benchmarks) on stack B, the one Colab readers run: tfx 1.21 on
# Python 3.13 and glibc 2.41, inside the Debian 13 root file system that
# ../shared/tools/colab_stack_check.sh builds (run that once first). Benchmarks what is committed
# (git HEAD) and writes benchmarks/results/py3.13-tfx1.21.0.{md,json,png} and summary.md here,
# beside stack A's. Needs root (chroot). Extra arguments go to python -m benchmarks (e.g. --quick).
#   usage: scripts/benchmark_stack_b.sh [BENCHMARK_ARGS...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${STACK_B_ROOT:-/tmp/debian13-root}
log=${STACK_B_LOG:-/tmp/benchmark_stack_b.log}
if [ ! -x "$root/root/venv313/bin/python" ]; then
  echo "error: no stack B environment in $root: run ../shared/tools/colab_stack_check.sh once (it builds it)" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: chroot needs root" >&2
  exit 1
fi
commit=$(git -C "$repo" rev-parse --short HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] \
  || echo "note: uncommitted changes are not benchmarked: stack B runs HEAD ($commit)" >&2
cp /etc/resolv.conf "$root/etc/resolv.conf"  # pip reaches the package index from inside.
mountpoint -q "$root/proc" || mount --bind /proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
trap 'umount "$root/proc" "$root/dev" 2>/dev/null || true' EXIT
bench="$root/srv/benchmark"
rm -rf "$bench" && mkdir -p "$bench/project" "$bench/results"
git -C "$repo" archive HEAD | tar -x -C "$bench/project"
if [ -d "$repo/../shared" ]; then cp -r "$repo/../shared" "$bench/shared"; fi  # As beside a CI checkout.
cp "$repo"/benchmarks/results/py*-tfx*.json "$bench/results/" 2>/dev/null || true  # For summary.md.
echo "benchmarking $commit on stack B; log: $log"
chroot "$root" env -u PIP_FIND_LINKS HOME=/root BENCHMARK_COMMIT="$commit" bash -c '
  set -eo pipefail
  . /root/venv313/bin/activate
  cd /srv/benchmark/project
  pip install -q -r requirements-dev.txt 2>&1 | { grep -v "is ignored" || true; } | tail -3
  # The install is measured with a warm package cache, as the second install of a reader: fill the pip cache.
  pip download -q -r requirements-dev.txt -d /tmp/pip-warm-up > /dev/null 2>&1 || true
  rm -rf /tmp/pip-warm-up
  python -m benchmarks --results-dir /srv/benchmark/results "$@"
' bash "$@" >"$log" 2>&1
for file in "$bench"/results/py3.1[1-3]-tfx*.* "$bench/results/summary.md"; do
  cp "$file" "$repo/benchmarks/results/"
done
tail -5 "$log"
echo "written: $(cd "$bench/results" && ls py3.1[1-3]-tfx*.* summary.md | tr '\n' ' ')in $repo/benchmarks/results/"
