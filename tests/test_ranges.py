"""The one range type (models/ranges.py, issue 21 item 1): every Voice parameter, archetype control
and effect parameter maps normalised <-> physical bit for bit as its own
class did before (pinned in tests/data/ranges_pinned.npz, written by ``python tests/test_ranges.py
--write`` from the code of 3249991), and the mappings behave as documented."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lstmabar.models.fx.effects import EFFECTS
from lstmabar.models.synth.archetype import CONTROL_SPECS
from lstmabar.models.synth.params import VOICE_PARAMS, to_physical_tensor

PINNED = Path(__file__).parent / "data" / "ranges_pinned.npz"
GRID = np.concatenate([[-0.1, 0.0, 1e-9, 0.25, 0.5, 0.5 + 1e-7, 0.75, 1.0, 1.1], np.random.default_rng(0).uniform(0, 1, 23)])


def _families():
    fx = [p for e in EFFECTS.values() for s in e.stages for p in s.params]
    return {"voice": VOICE_PARAMS, "control": CONTROL_SPECS, "fx": fx}


def compute() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for fam, specs in _families().items():
        for i, p in enumerate(specs):
            k = f"{fam}/{i}"
            phys = np.array([float(p.to_physical(float(np.clip(x, 0, 1)) if fam == "fx" else float(x))) for x in GRID])
            out[f"{k}/phys_float"] = phys
            for dt in (torch.float32, torch.float64):
                t = torch.as_tensor(np.clip(GRID, 0, 1) if fam == "fx" else GRID, dtype=dt)
                out[f"{k}/phys_{dt}"] = p.to_physical(t).numpy()
            vals = np.concatenate([phys, [p.minimum - 1.0, p.maximum + 1.0]])
            out[f"{k}/norm_float"] = np.array([float(p.to_normalized(float(v))) for v in vals])
            if fam != "fx":
                for dt in (torch.float32, torch.float64):
                    out[f"{k}/norm_{dt}"] = p.to_normalized(torch.as_tensor(vals, dtype=dt)).numpy()
    x = torch.as_tensor(np.random.default_rng(1).uniform(-0.05, 1.05, (16, len(VOICE_PARAMS))))
    out["voice/table32"] = to_physical_tensor(x.float()).numpy()
    out["voice/table64"] = to_physical_tensor(x).numpy()
    return out


def test_every_range_maps_bit_for_bit_as_before():
    pinned = np.load(PINNED)
    now = compute()
    assert sorted(now) == sorted(pinned.files)
    for k, v in now.items():
        np.testing.assert_array_equal(v, pinned[k], err_msg=k)


def test_mappings():
    from lstmabar.models.ranges import Range, RangeTable

    lin = Range("a", -12.0, 12.0, unit="dB")
    cur = Range("b", 0.0, 2.0, 0.5, "s")
    sym = Range("c", -96.0, 96.0, 0.2, "semitones", symmetric=True)
    log = Range("d", 20.0, 20000.0, unit="Hz", log=True)
    assert (lin.mapping, cur.mapping, sym.mapping, log.mapping) == ("linear", "curved", "curved", "log")
    assert lin.to_physical(0.5) == 0.0 and cur.to_physical(0.5) == 0.5 and sym.to_physical(0.5) == 0.0
    assert math.isclose(log.to_physical(0.5), 632.4555320336759)
    for r in (lin, cur, sym, log):
        for x in (0.0, 0.3, 0.9, 1.0):
            assert math.isclose(r.to_normalized(r.to_physical(x)), x, abs_tol=1e-9)
        assert math.isclose(r.to_physical(-1.0), r.minimum) and math.isclose(r.to_physical(2.0), r.maximum)  # clamped
        assert np.allclose(r.to_physical(np.array([0.2, 0.7])), [r.to_physical(0.2), r.to_physical(0.7)])
    table = RangeTable([lin, cur, sym, log])
    x = torch.rand(5, 4, dtype=torch.float64)
    expect = torch.stack([r.to_physical(x[:, i]) for i, r in enumerate(table.ranges)], dim=1)
    assert torch.allclose(table.to_physical(x), expect)
    with pytest.raises(ValueError, match="log range"):
        Range("e", 0.0, 1.0, log=True)


if __name__ == "__main__" and "--write" in sys.argv:
    np.savez_compressed(PINNED, **compute())
