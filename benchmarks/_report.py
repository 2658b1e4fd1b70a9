"""Write a benchmark's figures: docs/results/NAME.json and its section of docs/benchmarks.md.

Each script calls ``write_report(name, figures, markdown)``; the JSON is a flat object of named numbers
plus ``machine`` and ``date``; the Markdown section sits between markers so scripts never clobber
each other's sections.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            cpu += f"; GPU {torch.cuda.get_device_name(0)}"
    except Exception:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_report(name: str, figures: dict[str, Any], markdown: str) -> dict[str, Any]:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = {**figures, "machine": machine(), "date": now}
    (DOCS / "results").mkdir(parents=True, exist_ok=True)
    (DOCS / "results" / f"{name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    section = f"<!-- {name}:start -->\n## {name}\n\nMachine: {data['machine']}. Date: {now}.\n\n{markdown.strip()}\n<!-- {name}:end -->"
    md = DOCS / "benchmarks.md"
    with open(DOCS / ".benchmarks.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = md.read_text() if md.exists() else "# Benchmarks and quality reports\n\nEach section is written by the script named in it; the same figures are in docs/results/NAME.json.\n"
        pattern = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S)
        text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
        md.write_text(text)
    print(json.dumps(data, indent=2, sort_keys=True))
    return data
