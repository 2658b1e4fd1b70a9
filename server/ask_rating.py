"""Ratings asked of the person directly, through the client's forms (MCP elicitation).

A tool that returns sounds takes ``ask_rating`` (default false). When it is true, the call succeeded
and the client said it can show forms, the server asks, after the tool has finished:

* the first time ever, whether to keep rating data at all (library/consent.py stores the answer);
* with several sounds, "Which do you prefer?" (plus an optional 1-5 for the chosen one and a comment);
  with one, "How close is this to what you asked, 1-5?".

Only accepted answers are stored, through the same ``rate_feedback.record`` as every other rating,
with source "elicitation". A declined or cancelled question stores nothing. The tool's result comes
back unchanged, with a line saying what was asked and what was stored (or why nothing was asked, so
the assistant can ask in the chat instead).

Two transports, chosen by the negotiated protocol version: up to 2025-11-25 the server sends each
``elicitation/create`` request during the call (``ctx.elicit``); from 2026-07-28 the call answers
with an ``InputRequiredResult`` and the client retries it with the answers. The retry must not run the
tool again, so the finished result waits here under a random token carried in the (sealed) request
state.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
from mcp.server.elicitation import (
    AcceptedElicitation,
    CancelledElicitation,
    DeclinedElicitation,
    render_elicitation_schema,
)
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import NoBackChannelError
from mcp_types import CallToolResult, ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError, create_model

from lstmabar.library import consent
from lstmabar.library.errors import ToolError, UnknownSoundError
from lstmabar.library.records import SoundRecord
from lstmabar.tools.rate_feedback import Input as FeedbackInput
from lstmabar.tools.rate_feedback import record as record_feedback

if TYPE_CHECKING:
    from .state import AppState


# The tools whose results are sounds someone asked for (or, for sounds_to_rate, sounds to judge).
ASK_TOOLS = frozenset(
    {"synthesize_from_text", "optimize_fx", "match_sound", "interpolate_sounds", "predict_archetypes", "sounds_to_rate"}
)
ASK_FIELD = "ask_rating"
ASK_DESCRIPTION = (
    "After the call, ask the person directly through the client's form (MCP elicitation) which result they "
    "prefer, or how close it is to what they asked (1-5); only their answers are stored. Default false. Needs a "
    "client that supports elicitation; otherwise the result says so and you ask them yourself."
)
INPUT_REQUIRED_VERSION = "2026-07-28"  # from this protocol version questions ride InputRequiredResult
MAX_CANDIDATES = 8
LABELS = "ABCDEFGH"
PENDING_TTL_S = 1800.0
PENDING_MAX = 64

Outcome = AcceptedElicitation[Any] | DeclinedElicitation | CancelledElicitation
Step = Literal["consent", "rating"]


class KeepRatings(BaseModel):
    keep: bool = Field(title="Keep my ratings", description="Yes: keep the ratings I give, on this computer. No: keep none, and do not ask me to rate again.")


class HowClose(BaseModel):
    rating: int = Field(ge=1, le=5, title="How close is it to what you asked?", description="1 = far off, 5 = just right")
    comment: str | None = Field(None, max_length=500, title="Anything to add? (optional)")


def _preference_model(labels: list[str]) -> type[BaseModel]:
    return create_model(
        "Preference",
        preferred=(Literal[tuple(labels)], Field(title="Which do you prefer?", description=" / ".join(labels))),  # type: ignore[valid-type]
        rating=(int | None, Field(None, ge=1, le=5, title="How close is your choice to what you asked? (optional)", description="1 = far off, 5 = just right")),
        comment=(str | None, Field(None, max_length=500, title="Anything to add? (optional)")),
    )


@dataclass
class Question:
    step: Step
    message: str
    schema: type[BaseModel]


def supports_elicitation(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    el = caps.elicitation if caps is not None else None
    # an empty elicitation capability means form mode (the spec's default); url-only clients cannot show forms
    return el is not None and (el.form is not None or el.url is None)


def sound_ids_in(result: CallToolResult, tool: str) -> list[str]:
    """The sounds a result is about, in order: for sounds_to_rate its first pair (else its first sound);
    otherwise every stored sound it names (structured content, then resource links)."""
    sc = result.structured_content or {}
    if tool == "sounds_to_rate":
        pairs = sc.get("pairs") or []
        if pairs:
            return [pairs[0]["a"]["sound"]["id"], pairs[0]["b"]["sound"]["id"]]
        return [s["sound"]["id"] for s in (sc.get("sounds") or [])[:1]]
    ids: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            uri = node.get("uri")
            if isinstance(uri, str) and uri.startswith("sound://") and isinstance(node.get("id"), str):
                ids.append(node["id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(sc)
    for block in result.content:
        if getattr(block, "type", None) == "resource_link" and str(block.uri).startswith("sound://"):
            ids.append(str(block.uri).removeprefix("sound://"))
    return list(dict.fromkeys(ids))[:MAX_CANDIDATES]


@dataclass
class Flow:
    """One call's questions and answers. Answers are stored as they arrive (in a worker thread)."""

    state: "AppState"
    tool: str
    token: str
    sound_ids: list[str]
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[SoundRecord]:
        return [self.state.library.get(i) for i in self.sound_ids]

    def first(self) -> Question | None:
        c = consent.current(self.state.config)
        if c.keep_ratings is False:
            self.notes.append("Nobody was asked: rating data is not kept here (" + ("the server's configuration" if c.decided_by == "config" else "the person's choice") + ").")
            return None
        if c.keep_ratings is None:
            return Question(
                "consent",
                "Before the first rating: may lstmabar keep the ratings you give? " + consent.WHAT_IS_STORED
                + " The assistant in this chat sees your answers too. You are asked this once; answering No keeps"
                " nothing and stops these questions.",
                KeepRatings,
            )
        return self.rating_question()

    def rating_question(self) -> Question:
        recs = self.records()
        lines = [
            f"{LABELS[i]}: {r.id}, {r.duration_s:.1f} s, made by {r.tool}"
            + (f" for {r.prompt!r}" if r.prompt else "")
            + f"; file {r.path}"
            for i, r in enumerate(recs)
        ]
        listen = "Listen first (the files are on the computer running lstmabar):\n" + "\n".join(lines)
        if len(recs) == 1:
            return Question("rating", f"How close is this sound to what you asked for, 1-5?\n{listen}", HowClose)
        return Question("rating", f"Which of these {len(recs)} sounds do you prefer?\n{listen}", _preference_model(list(LABELS[: len(recs)])))

    def answer(self, step: Step, outcome: Outcome) -> Question | None:
        """Store an accepted answer; return the next question, if any."""
        if isinstance(outcome, (DeclinedElicitation, CancelledElicitation)):
            what = "declined" if isinstance(outcome, DeclinedElicitation) else "cancelled"
            about = "whether to keep ratings" if step == "consent" else "the rating question"
            self.notes.append(f"The person {what} {about}; nothing was stored.")
            return None
        data = outcome.data
        if step == "consent":
            consent.store_answer(self.state.config, data.keep)
            if not data.keep:
                self.notes.append("The person chose not to keep rating data: nothing is stored, and they will not be asked to rate again.")
                return None
            self.notes.append("The person agreed to keep their ratings (stored once; not asked again).")
            return self.rating_question()
        self._store_rating(data)
        return None

    def _store_rating(self, data: BaseModel) -> None:
        ids = self.sound_ids
        comment = (getattr(data, "comment", None) or "").strip() or None
        if len(ids) == 1:
            out = record_feedback(
                FeedbackInput(sound_id=ids[0], rating=data.rating, comment=comment, request_id=f"ask:{self.token}:rating"),
                self.state.library,
                source="elicitation",
            )
            self.notes.append(f"The person rated {ids[0]} {data.rating}/5" + (f" ({comment!r})" if comment else "") + f"; stored as {out.feedback_id}.")
            return
        winner = ids[LABELS.index(data.preferred)]
        stored = []
        for n, loser in enumerate(i for i in ids if i != winner):
            first = n == 0
            out = record_feedback(
                FeedbackInput(
                    sound_id=winner,
                    preferred_over=loser,
                    rating=data.rating if first else None,
                    comment=comment if first else None,
                    request_id=f"ask:{self.token}:{loser}",
                ),
                self.state.library,
                source="elicitation",
            )
            stored.append(out.feedback_id)
        others = ", ".join(i for i in ids if i != winner)
        rated = f" and rated it {data.rating}/5" if data.rating is not None else ""
        said = f" ({comment!r})" if comment else ""
        self.notes.append(f"The person preferred {data.preferred} = {winner} over {others}{rated}{said}; stored as {', '.join(stored)}.")


def _outcome(question: Question, result: ElicitResult) -> Outcome:
    if result.action == "accept":
        return AcceptedElicitation(data=question.schema.model_validate(result.content or {}))
    return DeclinedElicitation() if result.action == "decline" else CancelledElicitation()


class RatingAsker:
    """Runs the questions for a tool call with ``ask_rating`` set (both transports)."""

    def __init__(self, state: "AppState") -> None:
        self.state = state
        self._pending: dict[str, tuple[float, CallToolResult]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ entry points
    async def after_call(self, ctx: Context, tool: str, result: CallToolResult) -> CallToolResult | InputRequiredResult:
        """Ask about ``result``'s sounds (first round). Returns the result with a note, or the first
        InputRequiredResult on 2026-07-28+ connections."""
        if result.is_error:
            return result
        if not supports_elicitation(ctx):
            return _with_note(result, [
                "ask_rating: this client did not say it can show forms (MCP elicitation), so nobody was asked. Ask the "
                "person in the chat and record their answer with rate_feedback."
            ])
        ids = await anyio.to_thread.run_sync(self._made, sound_ids_in(result, tool))
        if not ids:
            return _with_note(result, ["ask_rating: this result has no sounds to rate, so nobody was asked."])
        flow = Flow(self.state, tool, secrets.token_hex(8), ids)
        question = await anyio.to_thread.run_sync(flow.first)
        if question is None:
            return _with_note(result, flow.notes)
        if is_version_at_least(ctx.protocol_version or "", INPUT_REQUIRED_VERSION):
            self._keep(flow.token, result)
            return self._input_required(flow, question)
        return _with_note(result, await self._ask_in_call(ctx, flow, question))

    async def resume(self, ctx: Context, tool: str) -> CallToolResult | InputRequiredResult | None:
        """A retried call (2026-07-28+) carrying answers to our question; None when this call is not one."""
        raw = ctx.request_state
        if not raw:
            return None
        try:
            st = json.loads(raw)
            token, step, ids = str(st["t"]), st["q"], [str(i) for i in st["ids"]]
            if st.get("tool") != tool or step not in ("consent", "rating"):
                return None
        except (ValueError, KeyError, TypeError):
            return None
        flow = Flow(self.state, tool, token, ids, notes=list(st.get("notes", [])))
        question = await anyio.to_thread.run_sync(flow.first if step == "consent" else flow.rating_question)
        if question is None:
            return self._finish(flow)
        if question.step != step:  # consent was settled meanwhile (by another call): go on from there
            return self._input_required(flow, question)
        response = (ctx.input_responses or {}).get(step)
        if not isinstance(response, ElicitResult):
            return self._input_required(flow, question)  # no answer came back: ask again
        try:
            outcome = _outcome(question, response)
        except ValidationError:
            flow.notes.append("The answer did not fit the form; nothing was stored.")
            return self._finish(flow)
        try:
            nxt = await anyio.to_thread.run_sync(flow.answer, step, outcome)
        except (ToolError, UnknownSoundError) as exc:
            flow.notes.append(f"The answer could not be stored: {exc}")
            nxt = None
        return self._input_required(flow, nxt) if nxt is not None else self._finish(flow)

    def _made(self, ids: list[str]) -> list[str]:
        """Leave out a sound the others came from (match_sound's imported target): the question is about
        what the tool made."""
        parents = {p for i in ids for p in self.state.library.get(i).parents}
        return [i for i in ids if i not in parents]

    # ------------------------------------------------------------------ transports
    async def _ask_in_call(self, ctx: Context, flow: Flow, question: Question | None) -> list[str]:
        while question is not None:
            try:
                outcome = await ctx.elicit(question.message, question.schema)
            except NoBackChannelError:
                flow.notes.append("ask_rating: this connection cannot carry questions from the server, so nobody was asked; ask in the chat and record with rate_feedback.")
                break
            except ValueError:  # accepted with content that does not fit the form
                flow.notes.append("The answer did not fit the form; nothing was stored.")
                break
            try:
                question = await anyio.to_thread.run_sync(flow.answer, question.step, outcome)
            except (ToolError, UnknownSoundError) as exc:
                flow.notes.append(f"The answer could not be stored: {exc}")
                break
        return flow.notes

    def _input_required(self, flow: Flow, question: Question) -> InputRequiredResult:
        request = ElicitRequest(params=ElicitRequestFormParams(message=question.message, requested_schema=render_elicitation_schema(question.schema)))
        state = {"t": flow.token, "q": question.step, "ids": flow.sound_ids, "tool": flow.tool, "notes": flow.notes}
        return InputRequiredResult(input_requests={question.step: request}, request_state=json.dumps(state))

    def _finish(self, flow: Flow) -> CallToolResult:
        with self._lock:
            kept = self._pending.pop(flow.token, None)
        if kept is None:
            return CallToolResult(
                content=[TextContent(type="text", text=" ".join(flow.notes + [
                    f"The tool's result was no longer held (server restarted, or over {PENDING_TTL_S / 60:.0f} minutes); "
                    f"its sounds are in the library: {', '.join(flow.sound_ids)} (list_sounds, sound://{{id}})."
                ]))],
                is_error=True,
            )
        return _with_note(kept[1], flow.notes)

    # ------------------------------------------------------------------ held results
    def _keep(self, token: str, result: CallToolResult) -> None:
        now = time.monotonic()
        with self._lock:
            for t in [t for t, (at, _) in self._pending.items() if now - at > PENDING_TTL_S]:
                del self._pending[t]
            while len(self._pending) >= PENDING_MAX:
                del self._pending[next(iter(self._pending))]
            self._pending[token] = (now, result)


def _with_note(result: CallToolResult, notes: list[str]) -> CallToolResult:
    if not notes:
        return result
    content = [*result.content, TextContent(type="text", text="Rating: " + " ".join(notes))]
    return result.model_copy(update={"content": content})
