#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then runs the whole suite.
# System packages (PostgreSQL, Chromium) come from Debian when running as root; the MCP Inspector
# from npm. A piece that cannot be installed makes its tests skip with a printed reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh test
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql chromium >/dev/null || echo "warning: apt-get install failed"
  fi
fi
if command -v npm >/dev/null && [ ! -x .cache/inspector/node_modules/.bin/mcp-inspector ]; then
  npm install --prefix .cache/inspector --no-audit --no-fund --loglevel=error @modelcontextprotocol/inspector@0.15.0 >/dev/null \
    || echo "warning: npm install of the MCP Inspector failed"
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# Lint first (pyflakes-level rules and syntax errors; configuration in pyproject.toml): seconds, and it
# catches undefined names that only a rarely taken branch would hit.
.venv/bin/ruff check --quiet .
# Types (mypy, configuration and the checked modules in pyproject.toml; strict where the code is ready). The
# folders are lstmabar's subpackages only through the editable install's finder, which mypy cannot see:
# link them under .cache/mypy/lstmabar (pyproject's mypy_path).
mkdir -p .cache/mypy/lstmabar
for d in server tools models library prompts; do ln -sfn "$PWD/$d" ".cache/mypy/lstmabar/$d"; done
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
