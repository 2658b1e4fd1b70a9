#!/usr/bin/env bash
# Creates .venv and installs lstmabar into it (editable), with the CPU build of torch.
# Usage: scripts/install.sh [extras], e.g. scripts/install.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
# Some machines' pip config names extra local indexes that do not exist; hide that noise only.
pip() { .venv/bin/python -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
extras="${1:-}"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip install -q --upgrade pip >/dev/null
# torch first and pinned: here 2.13.0 resolves to a local CPU wheel; an open range would pull GBs of CUDA.
pip install -q "torch==2.13.0"
spec="."
[ -n "$extras" ] && spec=".[$extras]"
pip install -q -e "$spec"
# The corpus renderer declares pyaudio, which does not build here and is never used: install it alone.
case ",$extras," in *,test,*|*,corpus,*) pip install -q --no-deps "tinysoundfont>=0.3.7" ;; esac
