from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from .args import checked, describe


class RatingSessionArgs(BaseModel):
    prompt: str = Field("", max_length=500, description="only sounds made for this prompt text (optional, at most 500 characters)")
    rounds: int = Field(5, ge=1, le=20, description="how many pairs to rate, a whole number from 1 to 20 (default 5)")


def rating_session(
    prompt: Annotated[str, Field(description=describe(RatingSessionArgs, "prompt"))] = "",
    rounds: Annotated[str, Field(description=describe(RatingSessionArgs, "rounds"))] = "5",
) -> str:
    """Walk the user through rating sounds: play two, ask which is better, record it with rate_feedback."""
    args = checked(RatingSessionArgs, prompt=prompt, rounds=rounds)
    focus = f' made for the prompt "{args.prompt}"' if args.prompt else ""
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
