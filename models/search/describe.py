"""What a search result sounds like, in numbers and words the assistant (who cannot listen) can read.

Both come from ``library.descriptors`` (the project's one way to measure a sound): ``describe`` is
its flat table of a mono sound (pitch, loudness, spectrum, envelope, space; no psychoacoustic
loudness, to keep a search's results quick to describe), ``words_for`` its one-line summary with
the words whose thresholds come from real recordings."""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmabar.library.descriptors import describe as _describe
from lstmabar.library.descriptors import summary


def describe(mono: np.ndarray, sr: int) -> dict[str, Any]:
    """Flat descriptors of a mono float signal (keys as in ``Descriptors.flat``)."""
    return _describe(np.asarray(mono, dtype=np.float64).reshape(-1), sr, psychoacoustic=False).flat()


def words_for(d: dict[str, Any]) -> str:
    """One line: the note (or none), the strongest producer words, the loudness."""
    return summary(d)
