"""The sound studio: an MCP App (extension ``io.modelcontextprotocol/ui``) that shows the sounds a tool
returned, inside the chat, in hosts that render MCP Apps.

It is one self-contained HTML document (``studio.html`` with ``studio.css`` and ``studio.js`` inlined;
no external scripts, styles, fonts or network: its own CSP forbids them). The host renders it in a
sandboxed frame for the tools in ``STUDIO_TOOLS`` (their ``_meta.ui.resourceUri``) and passes it the
tool's result; the app reads each sound over the host's MCP connection (``resources/read`` of
``sound://{id}``, ``/meta`` and ``/spectrogram.png``: base64 blobs turned into data: URLs), measures it
with ``describe_sound``, and calls the server's tools for the next steps (``synthesize_from_text`` with
``start_from`` for synth sounds). Ratings go through two tools only the app can see
(``_meta.ui.visibility: ["app"]``): ``studio_rate`` (the same ``rate_feedback.record`` as every rating,
source "app") and ``studio_settings`` (whether ratings are kept, library/consent.py).

Clients that did not negotiate the extension get the tools' usual content (text, audio preview, links)
and do not see the app-only tools in ``tools/list`` (``hide_app_only_tools``).
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError as McpToolError
from mcp_types import ListToolsResult, ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library import consent
from lstmabar.library.errors import ToolError
from lstmabar.tools.rate_feedback import Input as FeedbackInput
from lstmabar.tools.rate_feedback import Output as FeedbackOutput
from lstmabar.tools.rate_feedback import record as record_feedback

if TYPE_CHECKING:
    from ..state import AppState

STUDIO_URI = "ui://lstmabar/studio.html"
# The tools whose results are (or name) sounds: the host shows their result in the studio.
STUDIO_TOOLS = frozenset(
    {
        "synthesize_from_text", "optimize_fx", "match_sound", "interpolate_sounds", "predict_archetypes",
        "describe_sound", "import_sound", "sounds_to_rate",
    }
)


def studio_html() -> str:
    """The app as one document: the stylesheet and the script inlined into the page."""
    files = resources.files(__name__)
    page = files.joinpath("studio.html").read_text(encoding="utf-8")
    css = files.joinpath("studio.css").read_text(encoding="utf-8")
    js = files.joinpath("studio.js").read_text(encoding="utf-8")
    return page.replace("/*STUDIO_CSS*/", css).replace("/*STUDIO_JS*/", js)


def tool_meta(tool: str) -> dict[str, Any] | None:
    """``_meta`` for a tool: the studio for the tools that return sounds, else none."""
    return {"ui": {"resourceUri": STUDIO_URI}} if tool in STUDIO_TOOLS else None


class Settings(BaseModel):
    keep_ratings: bool | None = Field(description="True: ratings are kept; False: none are; null: the person was not asked yet (ratings they give are kept).")
    decided_by: str = Field(description="'config' (LSTMABAR_KEEP_RATINGS), 'person' (their stored answer) or 'nobody'.")
    what_is_stored: str


class Rated(FeedbackOutput):
    settings: Settings


def _settings(state: "AppState") -> Settings:
    c = consent.current(state.config)
    return Settings(keep_ratings=c.keep_ratings, decided_by=c.decided_by, what_is_stored=consent.WHAT_IS_STORED)


def _only_for_the_app(ctx: Context, name: str) -> None:
    if not client_supports_apps(ctx):
        raise McpToolError(f"{name} is the studio app's own tool; record a listener's judgement with rate_feedback.")


def build_apps(state: "AppState") -> Apps:
    """The Apps extension with the studio page and its two app-only tools."""
    apps = Apps()
    apps.add_html_resource(
        STUDIO_URI,
        studio_html(),
        name="lstmabar-studio",
        title="lstmabar sound studio",
        description="Hear, compare and rate the sounds a tool returned; ask for the next step.",
        csp=ResourceCsp(),  # nothing outside the document: no connect, resource or frame domains
        prefers_border=True,
    )
    app_only = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

    @apps.tool(
        resource_uri=STUDIO_URI,
        visibility=["app"],
        name="studio_rate",
        title="Rate a sound (studio app)",
        description="The studio app's rating button: store one judgement the person gave in the app (a 1-5 rating "
        "and/or a preference over another sound), source 'app'. request_id makes a double click count once.",
        annotations=app_only,
    )
    async def studio_rate(
        ctx: Context,
        sound_id: Annotated[str, Field(description="The sound judged (the preferred one, for a preference).")],
        request_id: Annotated[str, Field(min_length=8, max_length=128, description="A fresh id per judgement.")],
        rating: Annotated[int | None, Field(ge=1, le=5, description="1 (bad) to 5 (excellent).")] = None,
        preferred_over: Annotated[str | None, Field(description="A sound the person liked less than sound_id.")] = None,
        comment: Annotated[str | None, Field(max_length=4000)] = None,
    ) -> Rated:
        _only_for_the_app(ctx, "studio_rate")
        inp = FeedbackInput(sound_id=sound_id, rating=rating, preferred_over=preferred_over, comment=comment, request_id=request_id)
        try:
            out = await anyio.to_thread.run_sync(lambda: record_feedback(inp, state.library, source="app"))
        except ToolError as exc:
            raise McpToolError(str(exc)) from exc
        return Rated(**out.model_dump(), settings=_settings(state))

    @apps.tool(
        resource_uri=STUDIO_URI,
        visibility=["app"],
        name="studio_settings",
        title="Whether ratings are kept (studio app)",
        description="Read, or with keep_ratings set, store the person's choice about keeping rating data "
        "(their own switch in the studio app).",
        annotations=app_only,
    )
    async def studio_settings(
        ctx: Context,
        keep_ratings: Annotated[bool | None, Field(description="Set: store the person's choice; left out: only read it.")] = None,
    ) -> Settings:
        _only_for_the_app(ctx, "studio_settings")
        if keep_ratings is not None:
            try:
                await anyio.to_thread.run_sync(consent.store_answer, state.config, keep_ratings)
            except ToolError as exc:
                raise McpToolError(str(exc)) from exc
        return _settings(state)

    return apps


async def hide_app_only_tools(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: a client without MCP Apps gets no app-only tools in ``tools/list`` (nothing
    there would keep them from its model)."""
    result = await call_next(ctx)
    if ctx.method != "tools/list" or client_supports_apps(ctx):
        return result
    if isinstance(result, ListToolsResult):
        return result.model_copy(update={"tools": [t for t in result.tools if _model_visible(t.meta)]})
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        return {**result, "tools": [t for t in result["tools"] if _model_visible(t.get("_meta") if isinstance(t, dict) else None)]}
    return result


def _model_visible(meta: dict[str, Any] | None) -> bool:
    visibility = ((meta or {}).get("ui") or {}).get("visibility")
    return visibility is None or "model" in visibility
