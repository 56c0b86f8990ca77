#!/usr/bin/env bash
# A newcomer's path through README.md, checked in a fresh clone of this repository's HEAD:
#   1. bash scripts/demo.sh (the first of the two commands; the second, scripts/test.sh, is what
#      CI runs around this check, so it is not run again inside the clone),
#   2. the PATH step (source .venv/bin/activate) and every "Use it" example in order, with
#      `foretell` from the PATH: collect over OSC (a scripted performer plays), make a dataset,
#      train, perform (each run stopped with Ctrl-C after it has started),
#   3. the wheel: python -m build, twine check, every page file in it, a fresh venv with the wheel
#      installed, `foretell demo` from it (bundled data found inside the wheel), its size.
# Cheap by default: the clone's and the wheel's venvs reuse this checkout's installed packages
# (one .pth line) instead of installing torch again; --full installs everything afresh.
# Usage: bash scripts/newcomer-check.sh [--full]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
full=0; [ "${1:-}" = "--full" ] && full=1
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
say() { printf 'newcomer-check: %s\n' "$*"; }

fresh_venv() {  # fresh_venv DIR: a venv that sees this checkout's packages unless --full
  python3 -m venv "$1"
  if [ "$full" = 0 ]; then
    local ours theirs
    ours="$("$repo/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    theirs="$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$ours" > "$theirs/zz-newcomer-reuse.pth"  # after the venv's own packages
  fi
}

say "fresh clone of $(git -C "$repo" rev-parse --short HEAD)"
git clone -q "$repo" "$work/foretell"
cd "$work/foretell"
fresh_venv .venv

say "1. bash scripts/demo.sh"
bash scripts/demo.sh > "$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
grep -q "live call-and-response over OSC" "$work/demo.log"

say "2. the PATH step"
# shellcheck disable=SC1091
source .venv/bin/activate
[ "$(command -v foretell)" = "$PWD/.venv/bin/foretell" ]
foretell --help > /dev/null

stop_after_start() {  # stop_after_start LOG CMD...: run CMD until it says it listens, then ^C
  local log="$1"; shift
  "$@" > "$log" 2>&1 &
  local pid=$! i
  for i in $(seq 600); do grep -q "listening for OSC" "$log" && break; sleep 0.1; done
  grep -q "listening for OSC" "$log" || { cat "$log"; kill "$pid"; exit 1; }
  if [ -n "${PLAY:-}" ]; then python -c "$PLAY"; fi
  kill -INT "$pid"; wait "$pid"
}

say "2. Use it: collect"
PLAY='
from pythonosc.udp_client import SimpleUDPClient
import math, time
c = SimpleUDPClient("127.0.0.1", 6000)
for i in range(600):
    c.send_message("/interface", [0.5 + 0.4 * math.sin(i / 9), (i % 40) / 40, 0.3])
    time.sleep(0.004 + 0.02 * (i % 7 == 0))
time.sleep(0.2)' stop_after_start "$work/collect.log" \
  foretell run --osc-in 6000 --log-dir logs --controls 3
grep -q "stopped after 600 inputs" "$work/collect.log" || { cat "$work/collect.log"; exit 1; }

say "2. Use it: dataset, train"
foretell dataset logs/ --out mydata.npz
foretell train mydata.npz --size s --out models/mine.ftm > "$work/train.log" 2>&1 \
  || { cat "$work/train.log"; exit 1; }

say "2. Use it: perform"
PLAY='' stop_after_start "$work/perform.log" \
  foretell run --model models/mine.ftm --mode callresponse --dashboard
grep -q "dashboard" "$work/perform.log" || { cat "$work/perform.log"; exit 1; }

say "2. Use it: the studio"
foretell init my-pad --controls 3
PLAY='
import json, urllib.request
with urllib.request.urlopen("http://127.0.0.1:8765/api/status", timeout=10) as r:
    assert json.load(r)["project"] == "my-pad"
with urllib.request.urlopen("http://127.0.0.1:8765/studio/", timeout=10) as r:
    assert b"<html" in r.read().lower()' stop_after_start "$work/studio.log" \
  foretell studio my-pad
grep -q "studio at http://127.0.0.1:8765/studio/" "$work/studio.log" \
  || { cat "$work/studio.log"; exit 1; }
deactivate

say "3. the wheel"
.venv/bin/python -m pip install -q build twine
.venv/bin/python -m build -q --wheel --outdir dist . > "$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
if grep -iE "deprecat|license" "$work/build.log"; then say "build warnings above"; exit 1; fi
.venv/bin/python -m twine check --strict dist/*.whl
wheel="$(ls dist/foretell-*.whl)"
# every file of the pages (their shared modules under dashboard/static/shared/ too) is in the wheel
git ls-files 'foretell/*/static/*' | .venv/bin/python -c '
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [line.strip() for line in sys.stdin if line.strip() not in names]
sys.exit(f"the wheel lacks {missing}" if missing else None)' "$wheel"
fresh_venv "$work/wheel-venv"
if [ "$full" = 1 ]; then
  "$work/wheel-venv/bin/pip" install -q "$wheel[train]"
else
  "$work/wheel-venv/bin/pip" install -q --no-deps "$wheel"
fi
mkdir -p "$work/elsewhere/demo-out"
cp demo-out/demo-model.ftm "$work/elsewhere/demo-out/"  # reused: the wheel needs no training
if [ "$full" = 1 ]; then rm "$work/elsewhere/demo-out/demo-model.ftm"; fi
(cd "$work/elsewhere" && "$work/wheel-venv/bin/foretell" demo --phrases 1 --steps 100) \
  > "$work/wheel-demo.log" 2>&1 || { cat "$work/wheel-demo.log"; exit 1; }
grep -q "live call-and-response over OSC" "$work/wheel-demo.log"
(cd "$work/elsewhere" && "$work/wheel-venv/bin/python" -c \
  'import foretell, sys; sys.exit(None if "/wheel-venv/" in foretell.__file__ else foretell.__file__)')
say "ok: wheel $(basename "$wheel") $(du -k "$wheel" | cut -f1) KB"
