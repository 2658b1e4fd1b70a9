"""Checking a prompt's arguments. MCP prompt arguments arrive as strings; each prompt declares what
it accepts as a pydantic model and checks the strings with ``checked``, so a bad value is answered
with what is allowed (the SDK alone would say only "Error rendering prompt ...")."""

from __future__ import annotations

from typing import Any, TypeVar

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def describe(model: type[BaseModel], name: str) -> str:
    """The argument's description, for the prompt's own signature (one source of truth)."""
    return model.model_fields[name].description or ""


def checked(model: type[M], **raw: Any) -> M:
    try:
        return model(**raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            value = repr(err.get("input"))
            value = value if len(value) <= 40 else value[:37] + "..."
            allowed = describe(model, name) if name in model.model_fields else ""
            problems.append(f"{name}={value}: {err['msg']}." + (f" Allowed: {allowed}." if allowed else ""))
        raise MCPError(INVALID_PARAMS, "Invalid prompt argument. " + " ".join(problems)) from None
