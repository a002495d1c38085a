#!/usr/bin/env bash
# The Colab stand-in: the notebooks as a Colab reader runs them, in a Python that already holds Colab's
# preinstalled packages (no virtual environment), then a report of what the setup cell changed.
#   1. a root file system with glibc >= 2.39 and Python 3.13: Debian 13 (the one
#      ../shared/tools/colab_stack_check.sh builds, copied, or a new one); Colab is Ubuntu 24.04;
#   2. Colab's packages (tests/colab_stand_in/pip-freeze.txt) installed into the system Python as
#      they are (pip --no-deps: Colab's set as it is), leaving out the lines pip cannot install, and
#      kept as a snapshot that each later run starts from;
#   3. the repository (what is committed, HEAD) where the setup cell would clone it, and a google.colab
#      module of the stand-in's own registered at kernel start (tests/colab_stand_in/google_colab.py);
#   4. as a reader: the setup cell in a kernel (it installs, then asks for a restart); pip check and
#      pip freeze against Colab's; a new kernel (the restart); every cell of the local notebook; the
#      Vertex AI notebook (a dry run);
#   5. the report, docs/colab_stand_in.md, whose summary the README quotes.
# Needs root (chroot) and the package index; the first run takes some 30 minutes, later ones less.
#   usage: scripts/colab_stand_in.sh          (make colab-stand-in)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${COLAB_ROOT:-/tmp/colab-stand-in-root}
stack_b_root=${STACK_B_ROOT:-/tmp/debian13-root}
[ "$(id -u)" = 0 ] || { echo "error: chroot needs root" >&2; exit 1; }
work="$root/srv/colab-stand-in"
timings="$repo/outputs/colab_stand_in/timings.tsv"
mkdir -p "$(dirname "$timings")"
: > "$timings"
step() {  # step NAME COMMAND...: runs it, and records how long it took.
  local name=$1 started
  shift
  echo "== $name" >&2
  started=$(date +%s)
  "$@"
  printf '%s\t%s\n' "$name" "$(( $(date +%s) - started ))" >> "$timings"
}
in_root() {  # A command in the stand-in, with an environment of its own, as a Colab runtime's.
  # PIP_CERT: this machine reaches the package index through a proxy whose certificate is in the host's
  # bundle only; Colab's pip (from its list) trusts its own certifi bundle. Nothing else is passed in.
  chroot "$root" env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt "$@"
}

make_root() {
  if [ -x "$root/usr/bin/python3" ]; then return; fi
  if [ -x "$stack_b_root/usr/bin/python3" ]; then
    cp -a "$stack_b_root/." "$root/"
    rm -rf "$root/root/venv313" "$root/srv"  # colab_stack_check's virtual environment: Colab has none.
  else
    command -v debootstrap > /dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap > /dev/null; }
    debootstrap --variant=minbase --include=python3,python3-pip,python3-dev,g++,git,ca-certificates \
      stable "$root" http://deb.debian.org/debian > "$repo/outputs/colab_stand_in/debootstrap.log" 2>&1
  fi
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED  # Colab's pip installs into the system Python.
}

colab_packages() {
  local snapshot="$root/var/cache/colab-packages.tar"
  if [ -f "$snapshot" ]; then  # Back to Colab's packages as they are before any setup cell ran.
    rm -rf "$root/usr/local/lib/python3.13" "$root/usr/local/bin"
    tar -xf "$snapshot" -C "$root"
    cp "$root/var/cache/colab-left-out.txt" "$root/var/cache/colab-install-seconds.txt" "$work/"
    touch "$work/colab-restored"
    return
  fi
  local started
  started=$(date +%s)
  rm -rf "$root/usr/local/lib/python3.13" "$root/usr/local/bin" && mkdir -p "$root/usr/local/bin"
  PYTHONPATH="$repo" python3 "$repo/tests/colab_stand_in/report.py" installable \
    "$repo/tests/colab_stand_in/pip-freeze.txt" "$work/colab-installable.txt" "$work/colab-left-out.txt"
  mkdir -p "$root/var/cache"
  # Colab's pip, packaging and wheel are pip's own installs in /usr/local; Debian's python3-pip put
  # its copies in /usr/lib/python3/dist-packages, which pip cannot uninstall (no RECORD file). Colab's
  # versions go to /usr/local beside them, ahead on sys.path, as on Colab.
  grep -E '^(pip|packaging|wheel)==' "$work/colab-installable.txt" > "$root/tmp/colab-base-tools.txt"
  grep -vE '^(pip|packaging|wheel)==' "$work/colab-installable.txt" > "$root/tmp/colab-installable.txt"
  in_root python3 -m pip install -q --no-deps --ignore-installed -r /tmp/colab-base-tools.txt > "$work/colab-install.log" 2>&1
  if ! in_root python3 -m pip install -q --no-deps -r /tmp/colab-installable.txt >> "$work/colab-install.log" 2>&1; then
    # One package that will not install leaves out only itself (named in the report).
    while read -r line; do
      in_root python3 -m pip install -q --no-deps "$line" >> "$work/colab-install.log" 2>&1 \
        || printf '%s\tpip could not install it here (colab-install.log)\n' "$line" >> "$work/colab-left-out.txt"
    done < "$root/tmp/colab-installable.txt"
  fi
  echo $(( $(date +%s) - started )) > "$work/colab-install-seconds.txt"  # The install, kept with the snapshot.
  tar -cf "$snapshot" -C "$root" usr/local/lib/python3.13 usr/local/bin
  cp "$work/colab-left-out.txt" "$work/colab-install-seconds.txt" "$root/var/cache/"
}

place_repository() {  # Where the setup cell clones it (/content/tfx-cfpb-tutorial): it finds it there.
  rm -rf "$root/content" && mkdir -p "$root/content/tfx-cfpb-tutorial"
  git -C "$repo" archive HEAD | tar -x -C "$root/content/tfx-cfpb-tutorial"
  mkdir -p "$root/root/.ipython/profile_default/startup"
  cp "$repo/tests/colab_stand_in/google_colab.py" "$root/root/.ipython/profile_default/startup/00-google-colab.py"
}

environment() {  # pip check and pip freeze of the system Python, as NAME-check.txt and NAME-freeze.txt.
  in_root python3 -m pip check > "$work/$1-check.txt" 2>&1 || true
  in_root python3 -m pip freeze > "$work/$1-freeze.txt" 2> /dev/null
}

notebook() {  # notebook MODE NAME PATH: the driver in a kernel of Colab's Python; its report as NAME.json.
  in_root python3 /content/tfx-cfpb-tutorial/tests/colab_stand_in/drive.py "$1" \
    "/content/tfx-cfpb-tutorial/$3" > "$work/$2.json"
}

mkdir -p "$root"
step "root file system" make_root
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
mountpoint -q "$root/proc" || mount --bind /proc "$root/proc"
mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
trap 'umount "$root/proc" "$root/dev" 2>/dev/null || true' EXIT
rm -rf "$work" && mkdir -p "$work"
cd "$repo"
step "Colab's packages" colab_packages
place_repository
environment colab
step "setup cell (install)" notebook setup setup notebooks/local/tfx_pipeline_interactive.ipynb
environment after
step "local notebook (after a restart)" notebook run local notebooks/local/tfx_pipeline_interactive.ipynb
step "Vertex AI notebook (dry run)" notebook run vertex notebooks/vertex_ai/tfx_pipeline_vertex_ai.ipynb
in_root python3 -c 'import platform, sys; print(sys.version.split()[0], *platform.libc_ver())' > "$work/python.txt"
PYTHONPATH="$repo" python3 "$repo/tests/colab_stand_in/report.py" report "$work" "$timings" "$repo/docs/colab_stand_in.md"
echo "report: $repo/docs/colab_stand_in.md"
