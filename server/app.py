"""Builds the MCP server: every tool in ``lstmabar.tools`` plus the sound resources and prompts.

This module only wires; what a tool does lives in its module under tools/.
"""

from __future__ import annotations

import base64
import inspect
import logging
import time
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, AsyncIterator

import anyio
import anyio.lowlevel
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import AudioContent, CallToolResult, ImageContent, InputRequiredResult, ResourceLink, TextContent
from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from lstmabar.library.config import Config
from lstmabar.library.errors import ToolCancelled, ToolError, UnknownSoundError
from lstmabar.library.threads import apply_threads, plan_threads
from lstmabar.prompts import register_prompts
from lstmabar.tools import all_tools
from lstmabar.tools.base import ToolOutcome, ToolSpec, validation_text

from . import studio
from .ask_rating import ASK_DESCRIPTION, ASK_FIELD, ASK_TOOLS, RatingAsker
from .rating_page import register_rating_routes
from .resources import register_resources
from .state import AppState
from .workers import run_cancellable

log = logging.getLogger("lstmabar")

INSTRUCTIONS = """lstmabar does sound design. Sounds live in a library and are referred to by id
(sound://{id} resources give the WAV, /meta and /spectrogram.png). Generating tools return real audio
(a short preview inline, the full WAV as a resource link) and the parameters that made it, so you can
refine step by step: pass a previous sound id as start_from with a new instruction. Ask the person to
listen, and record every judgement with rate_feedback: ratings train the reward model. Where the client
can show forms, ask_rating=true on a sound-making call lets lstmabar ask the person itself and store
their answer (never record an answer given that way again)."""


def warm_up() -> None:
    """Pay once, at start, for first uses that cost seconds and would otherwise come out of the first
    call's time budget: torch's first Adam imports torch._dynamo (about 5 s on a 2-core machine),
    matplotlib's first import about 1.5 s."""
    import torch

    from lstmabar.library.images import _matplotlib

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
    _matplotlib()


def build_server(config: Config | None = None, *, preload: bool = False) -> MCPServer:
    state = AppState(config or Config.from_env())

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[AppState]:
        apply_threads(plan_threads(state.config.workers, state.config.threads))
        state.library  # open the database and repair before the first request
        if preload:
            await anyio.to_thread.run_sync(state.context().embedder)
        error: BaseException | None = None
        try:
            async with anyio.create_task_group() as jobs:
                state.jobs.attach(jobs)
                jobs.start_soon(partial(anyio.to_thread.run_sync, warm_up, abandon_on_cancel=True))
                jobs.start_soon(state.sync_loop)  # jobs' rows and reward versions shared with other replicas
                try:
                    yield state
                except BaseException as exc:  # re-raised below as it came, not wrapped in the task group's ExceptionGroup
                    error = exc
                finally:
                    state.jobs.detach()
                    jobs.cancel_scope.cancel()  # unfinished jobs stop; nothing of theirs is saved
        finally:
            state.close()
        if error is not None:
            raise error

    server = MCPServer(
        "lstmabar",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        lifespan=lifespan,
        extensions=[studio.build_apps(state)],
        middleware=[studio.hide_app_only_tools],
    )
    server.state = state  # type: ignore[attr-defined]
    asker = RatingAsker(state)
    for spec in all_tools():
        _add_tool(server, state, spec, asker)
    register_resources(server, state)
    register_prompts(server)
    register_rating_routes(server, state)

    @server.custom_route("/healthz", methods=["GET"], include_in_schema=False)
    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "tools": len(server._tool_manager.list_tools()), "queued": state.pool.waiting})

    return server


def _add_tool(server: MCPServer, state: AppState, spec: ToolSpec[Any], asker: RatingAsker) -> None:
    asks = spec.name in ASK_TOOLS

    async def handler(ctx: Context, **kwargs: Any) -> CallToolResult | InputRequiredResult:
        kwargs = kwargs.pop(_REJECTED, kwargs)
        ask = kwargs.pop(ASK_FIELD, False) in (True, "true") if asks else False
        if ask and (resumed := await asker.resume(ctx, spec.name)) is not None:
            return resumed  # the client's retry with the person's answers: the tool already ran
        try:
            inp = spec.input_model(**kwargs)
        except ValidationError as exc:
            return _error(f"Invalid arguments for {spec.name}: {validation_text(exc)}")
        result = await _call(state, spec, inp, ctx)
        return await asker.after_call(ctx, spec.name, result) if ask else result

    params = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
    for name, field in spec.input_model.model_fields.items():
        default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[(field.annotation, *field.metadata, Field(description=field.description))],
            )
        )
    if asks:
        params.append(inspect.Parameter(ASK_FIELD, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[bool, Field(description=ASK_DESCRIPTION)]))
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        params, return_annotation=Annotated[CallToolResult, spec.output_model]
    )
    handler.__name__ = spec.name
    server.add_tool(
        handler, name=spec.name, title=spec.title, description=spec.description, annotations=spec.annotations, meta=studio.tool_meta(spec.name)
    )
    tool = server._tool_manager.get_tool(spec.name)
    tool.fn_metadata = _ArgumentsForOurMessages(**dict(tool.fn_metadata))


_REJECTED = "__arguments_the_sdk_rejected__"


class _ArgumentsForOurMessages(FuncMetadata):
    """The SDK checks arguments against the advertised schema before our handler runs, and answers a
    mismatch with pydantic's raw text (a type name, a docs URL). Arguments it rejects are handed to the
    handler instead, which checks them with the tool's own input model and says what is allowed."""

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().validate_arguments(arguments_to_validate)
        except ValidationError:
            return {_REJECTED: self.pre_parse_json(arguments_to_validate)}


async def _call(state: AppState, spec: ToolSpec[Any], inp: Any, ctx: Context) -> CallToolResult:
    async def report(done: float, total: float | None, message: str | None) -> None:
        try:
            await ctx.report_progress(done, total, message)
        except Exception:  # a client that went away must not break the tool
            log.debug("progress report failed", exc_info=True)

    token = anyio.lowlevel.current_token()

    def progress_from_thread(done: float, total: float | None, message: str | None) -> None:
        anyio.from_thread.run(report, done, total, message, token=token)  # also from the keepalive thread

    tool_ctx = state.context(progress_fn=progress_from_thread, jobs=state.jobs)

    async def on_queued(position: int) -> None:
        await report(0, None, f"queued: position {position} in line ({state.pool.size} running)")

    def work() -> ToolOutcome:
        tool_ctx.begun = time.monotonic()
        with tool_ctx.keepalive():
            return spec.run(inp, tool_ctx)

    try:
        if spec.long_running:
            outcome = await state.pool.run(work, cancel_event=tool_ctx.cancel_event, on_queued=on_queued)
        else:
            outcome = await run_cancellable(work, tool_ctx.cancel_event)
    except (ToolError, UnknownSoundError) as exc:
        return _error(str(exc))
    except ToolCancelled:
        return _error(f"{spec.name} was cancelled; nothing was saved.")
    except ValidationError as exc:
        return _error(f"{spec.name} got invalid input: {validation_text(exc)}")
    except Exception as exc:  # an unexpected failure still answers; details go to the log
        log.exception("tool %s failed", spec.name)
        return _error(f"{spec.name} failed unexpectedly ({exc.__class__.__name__}: {exc}). The library is unchanged.")
    return outcome_to_result(outcome)


def outcome_to_result(outcome: ToolOutcome) -> CallToolResult:
    content: list[Any] = [TextContent(type="text", text=outcome.summary)]
    for wav in outcome.audio_previews:
        content.append(AudioContent(type="audio", data=base64.b64encode(wav).decode(), mime_type="audio/wav"))
    for png in outcome.images:
        content.append(ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"))
    for rec in outcome.sounds:
        content.append(
            ResourceLink(
                type="resource_link",
                uri=rec.uri,
                name=rec.id,
                title=(rec.prompt or rec.tool)[:80],
                mime_type="audio/wav",
                description=f"{rec.duration_s:.2f} s, {rec.sample_rate} Hz, made by {rec.tool}",
            )
        )
    return CallToolResult(content=content, structured_content=outcome.output.model_dump(mode="json"))


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


