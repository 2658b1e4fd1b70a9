"""Plain data returned by the sound library (pydantic, so tools can embed them in results)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class SoundRecord(BaseModel):
    id: str
    created_at: datetime
    tool: str = Field(description="Which tool made or received the sound.")
    prompt: str | None = None
    path: str = Field(description="Absolute path of the WAV file.")
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters with units.")
    scores: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)
    parents: list[str] = Field(default_factory=list, description="IDs of the sounds this one came from.")

    @property
    def uri(self) -> str:
        return f"sound://{self.id}"


class Aggregate(BaseModel):
    sound_id: str
    mean_rating: float | None = Field(None, description="Mean of 1-5 ratings, null when unrated.")
    rating_count: int = 0
    wins: int = Field(0, description="Times preferred over another sound.")
    losses: int = Field(0, description="Times another sound was preferred over this one.")


class FeedbackRecord(BaseModel):
    id: str
    created_at: datetime
    sound_id: str
    rating: int | None = None
    preferred_over: str | None = None
    comment: str | None = None
    tags: list[str] = Field(default_factory=list)
    rater_id: str | None = None
    request_id: str | None = None
    source: str = "mcp"
