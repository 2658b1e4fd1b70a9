from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from .args import checked, describe


class SoundDesignArgs(BaseModel):
    goal: str = Field(min_length=1, max_length=500, description="the sound to design, in words (1 to 500 characters)")

    model_config = {"str_strip_whitespace": True}


def sound_design_session(goal: Annotated[str, Field(description=describe(SoundDesignArgs, "goal"))]) -> str:
    """Guide an assistant through designing a sound from a description, refining it with the user."""
    goal = checked(SoundDesignArgs, goal=goal).goal
    return f"""Help the user design this sound: "{goal}".

- A sound from nothing: `synthesize_from_text` with the description; it returns several different
  candidates. Play them and ask which is closest.
- Refine: call `synthesize_from_text` again with `start_from` set to the chosen sound id and a short
  instruction ("darker", "slower attack"); when you know what the user asks ("too shiny, and ease it in"),
  also name it in `change` (["darker", "slower attack"]) so the tool does not have to guess from the words;
  keep what the user likes fixed with `keep`. Read `targets` and `kept` back: they say what moved and what held.
- The user's own recording: `import_sound`, then `optimize_fx` ("brighter and roomier") or
  `match_sound` to rebuild it on the synth so it can be tweaked.
- Which basic waveform a description or sound is closest to: `predict_archetypes`.
- Every time the user prefers one sound or rates one, call `rate_feedback`."""
