"""The match_sound Voice core's CoreParam is a models.ranges.Range (issue 21 item 1) whose
normalisation stays bit for bit what the trained matcher learnt with: to_physical on float32 and
float64 tensors and to_normalized on floats, for every core parameter, pinned in
tests/data/core_param_pinned.npz (written by ``python tests/test_core_param_ranges.py --write`` from
the code of 929d313, before the change)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from lstmabar.models.matching.voice_core import CORE_PARAMS

PINNED = Path(__file__).parent / "data" / "core_param_pinned.npz"
GRID = np.concatenate([[-0.5, 0.0, 1e-9, 0.5, 1.0, 1.5], np.random.default_rng(2).uniform(0, 1, 40)])


def compute() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for i, p in enumerate(CORE_PARAMS):
        for dt in (torch.float32, torch.float64):
            out[f"{i}/phys_{dt}"] = p.to_physical(torch.as_tensor(GRID, dtype=dt)).numpy()
        phys = out[f"{i}/phys_{torch.float64}"]
        vals = np.concatenate([phys, [p.to_physical(torch.tensor(0.0)).item() - 1.0, p.to_physical(torch.tensor(1.0)).item() + 1.0, np.nan]])
        out[f"{i}/norm"] = np.array([float(p.to_normalized(float(v))) for v in vals])
    return out


def test_core_normalisation_is_bit_for_bit_as_trained():
    pinned = np.load(PINNED)
    now = compute()
    assert sorted(now) == sorted(pinned.files)
    for k, v in now.items():
        np.testing.assert_array_equal(v, pinned[k], err_msg=k)


def test_core_params_are_ranges():
    from lstmabar.models.ranges import Range

    assert all(isinstance(p, Range) for p in CORE_PARAMS)
    attack = CORE_PARAMS[[p.name for p in CORE_PARAMS].index("adsr_1.attack")]
    assert attack.mapping == "log" and attack.unit == "s" and (attack.minimum, attack.maximum) == (0.002, 1.0)


if __name__ == "__main__" and "--write" in sys.argv:
    np.savez_compressed(PINNED, **compute())
