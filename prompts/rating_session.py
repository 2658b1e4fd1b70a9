from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from lstmabar.server.ask_rating import supports_elicitation

from .args import checked, describe


class RatingSessionArgs(BaseModel):
    prompt: str = Field("", max_length=500, description="only sounds made for this prompt text (optional, at most 500 characters)")
    rounds: int = Field(5, ge=1, le=20, description="how many pairs to rate, a whole number from 1 to 20 (default 5)")


def rating_session(
    prompt: Annotated[str, Field(description=describe(RatingSessionArgs, "prompt"))] = "",
    rounds: Annotated[str, Field(description=describe(RatingSessionArgs, "rounds"))] = "5",
    ctx: Context | None = None,
) -> str:
    """Walk the user through rating sounds: play two, ask which is better, record it with rate_feedback."""
    args = checked(RatingSessionArgs, prompt=prompt, rounds=rounds)
    focus = f' made for the prompt "{args.prompt}"' if args.prompt else ""
    if ctx is not None and supports_elicitation(ctx):
        return _with_forms(args, focus)
    return f"""You are running a listening session to collect ratings that train lstmabar's reward model.

Do {args.rounds} rounds. In each round:
1. Pick two sounds{focus}: call `sounds_to_rate` if it exists (it lists the sounds that most need
   ratings), otherwise `list_sounds` (filter by prompt) and take two made for the same prompt.
2. Play both to the user: read the `sound://{{id}}` resources (or use the inline audio previews) and
   say which is A and which is B. Do not describe them in a way that steers the choice.
3. Ask: "Which do you prefer, A or B? And how would you rate each from 1 to 5?" Wait for the answer.
4. Record it: call `rate_feedback` once for the preferred sound with `preferred_over` set to the other
   sound's id, and once per sound with its 1-5 `rating` if the user gave one. Put any words the user
   said about the sound in `comment`. Use a fresh `request_id` (for example a UUID) per call so a
   retried call is not counted twice.
5. Tell the user briefly what was recorded (the aggregate the tool returns).

If the user is unsure, record nothing for that pair and move on. Never invent a rating."""


def _with_forms(args: RatingSessionArgs, focus: str) -> str:
    """The session for a client that can show the server's questions as forms (MCP elicitation): the
    person answers the server directly, so nothing depends on how the assistant reads their words."""
    only = f', prompt_contains="{args.prompt}"' if args.prompt else ""
    return f"""You are running a listening session to collect ratings that train lstmabar's reward model.
This client can show the server's questions as forms, so the person answers lstmabar directly.

Do {args.rounds} rounds. In each round:
1. Call `sounds_to_rate` with `ask_rating=true`{only}. It picks the pair of sounds{focus} that most needs a
   judgement, and lstmabar then asks the person in a form which they prefer (and, optionally, how close
   it is to what was asked, 1-5), naming the files to listen to. The first time, the form asks whether
   to keep rating data at all; respect the answer.
2. Before or while the form is open, offer the two sounds to listen to if you can play them
   (`sound://{{id}}` resources); do not describe them in a way that steers the choice.
3. Read the result's last line ("Rating: ..."): it says what was stored, or that the person declined or
   cancelled (then nothing was stored: do not ask again in the chat and do not record anything yourself).
4. Tell the person briefly what was recorded.

Never call `rate_feedback` for an answer given in a form: lstmabar has stored it already. If the result
says nobody could be asked, fall back to asking in the chat and record the answer with `rate_feedback`.
Stop early if the person says they want to stop or chose not to keep ratings."""
