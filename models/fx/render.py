"""Rendering a chain with pedalboard (the final audio is always made here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pedalboard

from .chain import EFFECTS, chain_slots, clamp_frequency


def build_stage_plugins(chain: list[str], normalized: np.ndarray, sample_rate: int) -> list[list[Any]]:
    """Per effect, its pedalboard plugin objects for the normalised settings."""
    out: list[list[Any]] = []
    k = 0
    for name in chain:
        plugins = []
        for stage in EFFECTS[name].stages:
            kwargs: dict[str, float] = dict(stage.fixed)
            for p in stage.params:
                v = float(p.to_physical(float(np.clip(normalized[k], 0.0, 1.0))))
                if p.is_frequency:
                    v = clamp_frequency(v, sample_rate)
                kwargs[p.name] = v
                k += 1
            plugins.append(getattr(pedalboard, stage.plugin)(**kwargs))
        out.append(plugins)
    assert k == len(chain_slots(chain))
    return out


def build_board(chain: list[str], normalized: np.ndarray, sample_rate: int) -> pedalboard.Pedalboard:
    return pedalboard.Pedalboard([p for eff in build_stage_plugins(chain, normalized, sample_rate) for p in eff])


def render(chain: list[str], normalized: np.ndarray, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(channels, frames) float32 -> same shape, processed by pedalboard."""
    x = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    if not chain:
        return x.copy()
    y = build_board(chain, normalized, sample_rate)(x, sample_rate)
    return np.ascontiguousarray(y[:, : x.shape[1]], dtype=np.float32)


def render_plugins(plugins: list[Any], audio: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.ascontiguousarray(np.asarray(audio, dtype=np.float32))
    for p in plugins:
        x = p(x, sample_rate)
    return np.ascontiguousarray(x, dtype=np.float32)


def tail_seconds(chain: list[str], normalized: np.ndarray | None = None) -> float:
    """How much silence to append so reverb and delay tails are kept."""
    pad = 0.0
    if "reverb" in chain:
        pad = max(pad, 2.5)
    if "delay" in chain:
        pad = max(pad, 3.0)
    if "chorus" in chain:
        pad = max(pad, 0.1)
    return pad


def trim_tail(y: np.ndarray, keep_frames: int, sample_rate: int, floor_db: float = -80.0) -> np.ndarray:
    """Cut the padded silence after the last sample above floor_db (never before keep_frames)."""
    level = np.abs(y).max(axis=0)
    thresh = 10 ** (floor_db / 20)
    above = np.nonzero(level > thresh)[0]
    end = max(keep_frames, int(above[-1]) + 1 + int(0.05 * sample_rate) if above.size else keep_frames)
    return y[:, : min(end, y.shape[1])]
