"""The corpus renders the crowd's reverb and compressor settings with the same functions as the
optimize_fx plan (models/fx/crowd/settings.py), and its renders are unchanged by that (issue 21):
pinned for a few contributions and amounts in tests/data/corpus_effects_pinned.npz (written by
``python tests/test_corpus_effect_settings.py --write`` from the code of 5c702a7)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

PINNED = Path(__file__).parent / "data" / "corpus_effects_pinned.npz"
SR = 16_000


def _specs():
    from lstmabar.models.lstmabar.corpus.effects import load_contributions

    cs = load_contributions()
    picks = []
    for effect in ("reverb", "compressor"):
        of = [c for c in cs if c.effect == effect]
        picks += [of[i] for i in np.linspace(0, len(of) - 1, 4).astype(int)]
    return picks


def compute() -> dict[str, np.ndarray]:
    from lstmabar.models.lstmabar.corpus.effects import apply_effect

    rng = np.random.default_rng(4)
    t = np.arange(int(0.12 * SR)) / SR
    x = ((0.3 * np.sin(2 * np.pi * 196 * t) + 0.05 * rng.standard_normal(t.size)) * np.exp(-8 * t)).astype(np.float32)
    out = {}
    for c in _specs():
        for amount in (0.3, 1.0):
            out[f"{c.id}/{amount}"] = apply_effect(c.effect, c.values, amount, x, SR)
    return out


def test_corpus_effects_render_as_pinned():
    try:
        now = compute()
    except FileNotFoundError as exc:  # the shared crowd data is not on this machine
        pytest.skip(str(exc))
    pinned = np.load(PINNED)
    assert sorted(now) == sorted(pinned.files)
    for k, v in now.items():
        np.testing.assert_array_equal(v, pinned[k], err_msg=k)


if __name__ == "__main__" and "--write" in sys.argv:
    np.savez_compressed(PINNED, **compute())
