#!/usr/bin/env bash
# Installs foretell (with training) into .venv and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# -W: setuptools' "Editable installation" notice, which every in-place install prints
.venv/bin/python -W "ignore:Editable installation:UserWarning" -m pip install -q -e ".[train]"
exec .venv/bin/foretell demo "$@"
