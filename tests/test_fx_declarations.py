"""The effect declarations decode a normalised vector exactly as before the one-declaration refactor
(issue 21 item 2): physical settings, pedalboard renders, the twins' values, the filter curves,
amount and twin masks, tails, pinned for a few random vectors in tests/data/fx_pinned.npz (written by
``python tests/test_fx_declarations.py --write`` from the code of 203eca3, before the refactor)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from lstmabar.models.fx import twins
from lstmabar.models.fx import chain as fx_chain
from lstmabar.models.fx.chain import EFFECT_NAMES, chain_slots, default_chain, keyword_effect, neutral_normalized, physical_settings
from lstmabar.models.fx.optimize import strength_box
from lstmabar.models.fx.render import render, tail_seconds

SR = 16000
PINNED = Path(__file__).parent / "data" / "fx_pinned.npz"
CHAINS = (
    ["eq"],
    ["highpass", "lowpass"],
    ["gate", "distortion", "compressor", "gain"],
    ["chorus", "delay", "reverb"],
    ["highpass", "lowpass", "gate", "eq", "distortion", "compressor", "chorus", "delay", "reverb", "gain"],
)


def _keywords() -> dict[str, tuple[str, ...]]:
    return dict(fx_chain._KEYWORDS)


def _audio() -> np.ndarray:
    t = np.arange(2000) / SR
    rng = np.random.default_rng(7)
    return (0.4 * np.sin(2 * np.pi * 330 * t) + 0.1 * rng.standard_normal(t.size)).astype(np.float32)[None]


def _vectors(chain: list[str]) -> list[np.ndarray]:
    n = len(chain_slots(chain))
    rng = np.random.default_rng(len(chain) * 101 + n)
    return [rng.uniform(0, 1, n), rng.uniform(-0.2, 1.2, n), neutral_normalized(chain)]


def compute() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    x = _audio()
    freqs = np.geomspace(20, 7900, 64)
    words = sorted({w for fx in EFFECT_NAMES for w in _keywords().get(fx, ())} | {"nothing", "roomy", "brighter"})
    out["keyword_effect"] = np.frombuffer(json.dumps([keyword_effect(w) for w in words]).encode(), dtype=np.uint8)
    rng = np.random.default_rng(11)
    prompts = [" ".join(rng.choice(words, 3)) for _ in range(40)]
    out["default_chain"] = np.frombuffer(json.dumps([default_chain(p) for p in prompts]).encode(), dtype=np.uint8)
    for name in CHAINS[-1]:  # every effect alone
        out[f"{name}/tail"] = np.array(tail_seconds([name]))
        out[f"{name}/amount"] = np.array([s.is_amount for s in chain_slots([name])])
    for ci, chain in enumerate(CHAINS):
        out[f"{ci}/amount"] = np.array([s.is_amount for s in chain_slots(chain)])
        out[f"{ci}/twin"] = twins.twin_mask(chain)
        out[f"{ci}/tail"] = np.array(tail_seconds(chain))
        out[f"{ci}/neutral"] = neutral_normalized(chain)
        for vi, v in enumerate(_vectors(chain)):
            key = f"{ci}/{vi}"
            out[f"{key}/settings"] = np.frombuffer(json.dumps(physical_settings(chain, v, SR), sort_keys=True).encode(), dtype=np.uint8)
            out[f"{key}/render"] = render(chain, v, x, SR)
            vals = twins.effect_values(chain, torch.as_tensor(np.clip(v, 0, 1), dtype=torch.float64))
            out[f"{key}/values"] = np.array([float(t) for stages in vals for d in stages for t in d.values()])
            out[f"{key}/curve"] = twins.eq_curve_db(chain, np.clip(v, 0, 1), freqs, SR)
            with torch.no_grad():
                out[f"{key}/twin_render"] = twins.apply_chain(chain, torch.as_tensor(np.clip(v, 0, 1)), torch.from_numpy(x.copy()), SR).numpy()
            lo, hi = strength_box(chain, np.clip(v, 0, 1), 0.3)
            out[f"{key}/box"] = np.concatenate([lo, hi])
    return out


def test_decoding_matches_the_pinned_outputs():
    pinned = np.load(PINNED)
    now = compute()
    assert sorted(now) == sorted(pinned.files)
    for k, v in now.items():
        if k.endswith("/settings") or k in ("keyword_effect", "default_chain"):
            assert bytes(v) == bytes(pinned[k]), k
        elif v.dtype == bool:
            assert np.array_equal(v, pinned[k]), k
        else:
            np.testing.assert_allclose(v, pinned[k], rtol=0, atol=1e-6, err_msg=k)


def test_each_keyword_is_declared_once():
    """A word names one effect, once: a repeat is dead weight, and a word under two effects would be
    resolved by dict order alone."""
    seen: dict[str, str] = {}
    for fx in EFFECT_NAMES:
        for w in _keywords().get(fx, ()):
            assert w not in seen, f"keyword {w!r} declared for {seen[w]} and again for {fx}"
            seen[w] = fx


if __name__ == "__main__" and "--write" in sys.argv:
    np.savez_compressed(PINNED, **compute())
