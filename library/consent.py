"""Whether listeners' ratings and comments are kept: the person's answer, stored beside the library.

Ratings are only ever stored when someone gives one (rate_feedback, the /rate page, the studio app,
an answered elicitation). On top of that the person can say once that they do not want rating data
kept at all: the first rating question the server asks by elicitation asks this first, and the answer
lands in ``<output folder>/consent.json``. ``LSTMABAR_KEEP_RATINGS`` (Config.keep_ratings), when set,
overrides the stored answer. Every path that stores a rating checks ``require_keep`` first.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .config import Config
from .errors import ToolError

CONSENT_FILE = "consent.json"

WHAT_IS_STORED = (
    "What is stored: the ratings (1-5), preferences between two sounds and comments that you give, with the "
    "sound's id and the time, in the lstmabar library on this computer (its database). lstmabar sends them nowhere "
    "(it makes no network requests with them); they train its local reward model."
)


class Consent(BaseModel):
    keep_ratings: bool | None = Field(description="True: keep ratings; False: keep none; None: the person was not asked yet.")
    decided_by: Literal["config", "person", "nobody"]
    answered_at: datetime | None = None

    @property
    def settled(self) -> bool:
        return self.keep_ratings is not None


def consent_path(config: Config) -> Path:
    return config.output_dir / CONSENT_FILE


def current(config: Config) -> Consent:
    """The setting in force: the configuration's, else the person's stored answer, else none yet."""
    if config.keep_ratings is not None:
        return Consent(keep_ratings=config.keep_ratings, decided_by="config")
    try:
        raw = json.loads(consent_path(config).read_text())
        return Consent(keep_ratings=bool(raw["keep_ratings"]), decided_by="person", answered_at=raw.get("answered_at"))
    except (OSError, ValueError, KeyError, TypeError):  # missing or unreadable: not asked yet
        return Consent(keep_ratings=None, decided_by="nobody")


def store_answer(config: Config, keep: bool) -> Consent:
    """Store the person's answer (atomically). Refused when the configuration decides instead."""
    if config.keep_ratings is not None:
        raise ToolError(
            f"Whether ratings are kept is set by the server's configuration (LSTMABAR_KEEP_RATINGS="
            f"{'yes' if config.keep_ratings else 'no'}); change it there."
        )
    path = consent_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    tmp = path.with_suffix(".json.partial")
    tmp.write_text(json.dumps({"keep_ratings": bool(keep), "answered_at": now.isoformat()}) + "\n")
    os.replace(tmp, path)
    return Consent(keep_ratings=bool(keep), decided_by="person", answered_at=now)


def require_keep(config: Config) -> None:
    """Raise a ToolError (nothing stored) when the person or the configuration said to keep no ratings."""
    c = current(config)
    if c.keep_ratings is False:
        how = (
            "the server's configuration says so (LSTMABAR_KEEP_RATINGS=no)"
            if c.decided_by == "config"
            else f"the person chose not to keep rating data (their answer is in {consent_path(config)}; "
            "they can change it in the studio app, or by deleting that file)"
        )
        raise ToolError(f"Ratings are not kept here: {how}. Nothing was stored.")
