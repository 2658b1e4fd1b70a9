"""MCP prompts: text templates that guide an assistant through a workflow."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from .rating_session import rating_session
from .sound_design import sound_design_session


def register_prompts(server: MCPServer) -> None:
    server.prompt(name="rating_session", title="Rate sounds with the user")(rating_session)
    server.prompt(name="sound_design_session", title="Design a sound step by step")(sound_design_session)
