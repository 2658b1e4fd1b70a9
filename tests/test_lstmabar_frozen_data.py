"""LSTMABAR's data recipe keeps the inputs its shipped weights were trained with until the next retrain:
the recording clips' f0 (which sets the captions' register word) and archetype targets are those
computed before pitch moved to library.descriptors (tests/data/lstmabar_recording_targets.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lstmabar.models.lstmabar.data import describe, recording_clips, recording_estimate

FIXTURE = Path(__file__).with_name("data") / "lstmabar_recording_targets.json"
pytestmark = pytest.mark.slow


def test_recording_targets_and_register_words_unchanged(shared_audio_dir):
    frozen = json.loads(FIXTURE.read_text())["clips"]
    clips = recording_clips()
    assert [n for n, _ in clips] == [r["noun"] for r in frozen]
    for (noun, clip), row in zip(clips, frozen):
        est = recording_estimate(clip)
        assert est.f0_hz == pytest.approx(row["f0_hz"], rel=1e-9), noun
        assert np.allclose(est.vector(), row["target"], atol=1e-9), noun
        assert describe(clip, est.f0_hz) == describe(clip, row["f0_hz"])
