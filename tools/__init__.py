"""The MCP tools. Each module holds one tool: its input/output models and ``TOOL``, a ToolSpec."""

from __future__ import annotations

import importlib
import importlib.util

from .base import ToolSpec

# In the order a client lists them. A module that is not in this build yet is left out.
TOOL_MODULES: tuple[str, ...] = (
    "predict_archetypes",
    "synthesize_from_text",
    "interpolate_sounds",
    "optimize_fx",
    "match_sound",
    "import_sound",
    "describe_sound",
    "list_sounds",
    "rate_feedback",
    "sounds_to_rate",
    "jobs",
)


def all_tools() -> list[ToolSpec]:
    specs = []
    for name in TOOL_MODULES:
        full = f"{__name__}.{name}"
        if importlib.util.find_spec(full) is None:
            continue
        module = importlib.import_module(full)
        specs.extend(getattr(module, "TOOLS", None) or [module.TOOL])  # a module may hold several tools
    return specs
