"""cma_refine's results with a generation cap (no wall-clock effect), pinned before its CMA-ES loop moved
onto models/search (issue 21 item 3): the toy synth with a fixed parameter, with another seed and
population, and with a custom loss give the parameters, losses, counts and history they gave at 7179f1e
(tests/data/match_refine_pinned.npz, written by ``python tests/test_match_refine_pinned.py --write``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from lstmabar.models.matching.data import toy_spec
from lstmabar.models.matching.refine import cma_refine

PINNED = Path(__file__).parent / "data" / "match_refine_pinned.npz"


def _log_spectrum_l1(target: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    def s(x: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.fft.rfft(x, dim=-1).abs() + 1e-3)

    return (s(audio) - s(target.reshape(1, -1))).abs().mean(-1)


CASES = {
    "fixed": ({"population": 8, "fixed": {0: 0.5}, "max_generations": 6, "seed": 0}, None),
    "free": ({"population": 6, "sigma": 0.2, "max_generations": 5, "seed": 3}, None),
    "loss_fn": ({"population": 6, "sigma": 0.3, "fixed": {2: 1.0, 5: 0.0}, "max_generations": 6, "seed": 1}, _log_spectrum_l1),
}


def compute() -> dict[str, np.ndarray]:
    torch.set_num_threads(1)
    spec = toy_spec()
    truth = torch.tensor([0.5, 0.6, 0.8, 0.2, 0.1, 0.1, 0.5, 0.3])
    target = spec.render(truth[None], 0)[0]
    # a start on the box's edges too (0 and 1), where the search's mean is pulled inside
    start = (truth + torch.tensor([0.0, 0.2, -0.4, 0.4, -0.2, 0.3, 0.6, 0.0])).clamp(0, 1)
    out: dict[str, np.ndarray] = {}
    for name, (kw, loss_fn) in CASES.items():
        gens: list[tuple[int, float]] = []
        extra = {"loss_fn": loss_fn} if loss_fn is not None else {}
        r = cma_refine(spec.render, target, start, budget_s=600.0, on_generation=lambda g, b, s: gens.append((g, b)), **kw, **extra)
        out[f"{name}/params"] = r.params.numpy()
        out[f"{name}/scalars"] = np.array([r.loss, r.start_loss, r.evaluations, r.generations], dtype=np.float64)
        out[f"{name}/history"] = np.array(r.history, dtype=np.float64)
        out[f"{name}/callbacks"] = np.array(gens, dtype=np.float64)
    return out


def test_cma_refine_matches_the_pinned_results():
    pinned = np.load(PINNED)
    now = compute()
    assert sorted(now) == sorted(pinned.files)
    for k, v in now.items():
        assert v.dtype == pinned[k].dtype, k
        np.testing.assert_array_equal(v, pinned[k], err_msg=k)  # bit for bit: the same CMA-ES stream


if __name__ == "__main__" and "--write" in sys.argv:
    np.savez_compressed(PINNED, **compute())
