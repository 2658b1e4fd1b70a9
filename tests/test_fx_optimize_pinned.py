"""optimize_chain's results without a deadline, pinned before it was split into stages and its CMA-ES
part moved onto models/search (issue 21 item 3): Adam alone, CMA-ES alone, and the two interleaved, with
a prior and a reward, give the settings, losses and history they gave at 9565b3b
(tests/data/fx_optimize_pinned.npz, written by ``python tests/test_fx_optimize_pinned.py --write``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from lstmabar.models.fx.chain import chain_slots
from lstmabar.models.fx.optimize import optimize_chain

PINNED = Path(__file__).parent / "data" / "fx_optimize_pinned.npz"
SR = 16000
CASES = {
    "adam": (["eq", "gain"], {"steps": 6}),
    "cma": (["compressor", "reverb"], {"generations": 3}),
    "cma_pop": (["delay"], {"generations": 2, "population": 5, "strength": 0.2}),
    "mixed": (["highpass", "chorus", "distortion"], {"steps": 5, "generations": 3}),
    "prior_reward": (["eq", "reverb"], {"steps": 4, "generations": 2, "prior_weight": 0.5}),
}


def _embedder():
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from tests.fakes import TinyEmbedder

    return TinyEmbedder()


def _audio() -> np.ndarray:
    t = np.arange(int(0.3 * SR)) / SR
    rng = np.random.default_rng(5)
    return (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t) + 0.03 * rng.standard_normal(t.size)).astype(np.float32)


def compute() -> dict[str, np.ndarray]:
    torch.set_num_threads(1)
    emb = _embedder()
    out: dict[str, np.ndarray] = {}
    for name, (chain, kw) in CASES.items():
        kw = dict(kw)
        n = len(chain_slots(chain))
        if "prior_weight" in kw:
            kw["prior"] = np.linspace(0.2, 0.8, n)
            kw["reward_fn"] = lambda e, s: e[:, 0].double() * 0.1 + torch.as_tensor(s).sum(-1) * 0.01
            kw["reward_weight"] = 0.5
        steps: list[str] = []
        r = optimize_chain(chain, _audio(), SR, emb, "bright and roomy", seed=3, on_step=lambda d, t, m: steps.append(f"{d}/{t} {m}"), **kw)
        out[f"{name}/normalized"] = r.normalized
        out[f"{name}/scalars"] = np.array(
            [r.loss_before, r.loss_after, r.text_similarity_before, r.text_similarity_after, r.directional_after,
             r.adam_steps, r.es_evaluations, r.generations, r.generations_done, r.kept_start, r.stopped_early]
        )
        out[f"{name}/history"] = np.array(r.history)
        out[f"{name}/steps"] = np.frombuffer("\n".join(steps).encode(), dtype=np.uint8)
    return out


def test_optimize_chain_matches_the_pinned_results():
    pinned = np.load(PINNED)
    now = compute()
    assert sorted(now) == sorted(pinned.files)
    for k, v in now.items():
        if k.endswith("/steps"):
            assert bytes(v).decode() == bytes(pinned[k]).decode(), k
        else:
            np.testing.assert_allclose(v, pinned[k], rtol=1e-6, atol=1e-7, err_msg=k)


if __name__ == "__main__" and "--write" in sys.argv:
    np.savez_compressed(PINNED, **compute())
