"""The server against a client nobody here wrote: the MCP Inspector's CLI mode (npm package
@modelcontextprotocol/inspector, installed by scripts/test.sh into .cache/inspector)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstmabar.library.config import Config
from lstmabar.library.store import SoundLibrary

ROOT = Path(__file__).resolve().parents[1]


def inspector() -> str:
    candidates = [os.environ.get("LSTMABAR_INSPECTOR", ""), str(ROOT / ".cache/inspector/node_modules/.bin/mcp-inspector")]
    for c in candidates:
        if c and Path(c).exists():
            return c
    found = shutil.which("mcp-inspector")
    if found:
        return found
    print("SKIP reason: MCP Inspector not installed (scripts/test.sh installs it with npm)")
    pytest.skip("MCP Inspector not installed (scripts/test.sh installs it with npm)")


def run_inspector(out: Path, *args: str) -> dict:
    cmd = [inspector(), "--cli", sys.executable, "-m", "lstmabar.server.cli", "serve", "-e", f"LSTMABAR_OUTPUT_DIR={out}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.slow
def test_inspector_lists_tools_and_rates(tmp_path: Path) -> None:
    out = tmp_path / "lib"
    lib = SoundLibrary(Config(output_dir=out))
    sid = lib.add(np.zeros(4800, np.float32) + 0.1, 48_000, tool="test").id
    lib.close()

    listed = run_inspector(out, "--method", "tools/list")
    names = {t["name"] for t in listed["tools"]}
    assert {"import_sound", "list_sounds", "rate_feedback"} <= names
    rate = next(t for t in listed["tools"] if t["name"] == "rate_feedback")
    assert "outputSchema" in rate and rate["annotations"]["readOnlyHint"] is False

    res = run_inspector(
        out, "--method", "tools/call", "--tool-name", "rate_feedback",
        "--tool-arg", f"sound_id={sid}", "--tool-arg", "rating=4", "--tool-arg", "request_id=inspector-1",
    )
    assert not res.get("isError"), res
    assert res["structuredContent"]["aggregate"]["mean_rating"] == 4.0

    lib = SoundLibrary(Config(output_dir=out))
    assert [(f.sound_id, f.rating) for f in lib.feedback()] == [(sid, 4)]
    lib.close()
