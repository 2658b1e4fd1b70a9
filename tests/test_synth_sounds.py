"""models.synth.sounds: what the synth tools share (stored patches, the final render)."""

from __future__ import annotations

import numpy as np
import torch

from lstmabar.models.synth.params import NUM_PARAMS
from lstmabar.models.synth.patch import Patch
from lstmabar.models.synth.sounds import cached_voice, render_final, stored_patch

torch.set_num_threads(1)


class _Cache:
    def __init__(self) -> None:
        self.items: dict = {}

    def get(self, key, factory):
        if key not in self.items:
            self.items[key] = factory()
        return self.items[key]


def test_stored_patch_from_normalised_or_physical_values() -> None:
    x = torch.rand(NUM_PARAMS, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(stored_patch({"patch_normalized": x.tolist()}, None), x)
    physical = Patch.from_normalized(x).physical()
    assert torch.allclose(stored_patch({}, physical), x, atol=1e-4)
    assert stored_patch({"patch_normalized": [0.5] * 3}, None) is None  # not a Voice patch
    assert stored_patch(None, {"eq.gain": {"value": 1.0}}) is None


def test_final_render_is_peak_normalised_and_voices_are_cached() -> None:
    cache = _Cache()
    voice = cached_voice(cache, 48000, 0.25)
    assert cached_voice(cache, 48000, 0.25) is voice and cached_voice(cache, 48000, 0.5) is not voice
    audio = render_final(voice, Patch.default().normalized(), seed=0)
    assert audio.shape == (1, 12000) and audio.dtype == np.float32
    assert np.abs(audio).max() <= 1.0 + 1e-6 and np.abs(audio).max() > 0.5
