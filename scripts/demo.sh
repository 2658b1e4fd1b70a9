#!/usr/bin/env bash
# The main job: install, then run a scripted MCP session over stdio (lstmabar demo).
# WAV files and summary.json land in out/demo (or the folder given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/lstmabar demo --out "${1:-out/demo}"
