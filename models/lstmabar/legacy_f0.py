"""The f0 estimator LSTMABAR's current weights were trained with, frozen until the next retrain.

``models/lstmabar/data.py`` computes the archetype targets (and, through f0, the register word of
the captions) of its recording clips with ``estimate_archetypes``. Pitch now comes from
``library.descriptors`` everywhere else; this copy of the earlier YIN estimator (moved unchanged
from ``models/synth/analysis.py``) keeps the data recipe giving the same targets and captions as
the shipped weights saw (``tests/test_lstmabar_frozen_data.py`` checks them). Delete it with the
retrain of the next issue, and let the recipe call ``estimate_archetypes`` without an f0.
"""

from __future__ import annotations

import numpy as np

from ..synth.analysis import _frame_rms, _project, refine_f0


def _fix_octave(x: np.ndarray, f: float, sr: int, fmin: float, fmax: float) -> float:
    """YIN can land on a multiple or a fraction of the period in noisy sounds. Among f * {1/4 .. 4},
    score each candidate by the energy on its multiples minus the energy half-way between them (both
    below one common frequency limit, so noise cancels) and keep the highest candidate within 10 %
    of the best score."""
    cands = [f * m for m in (0.25, 1 / 3, 0.5, 1.0, 2.0, 3.0, 4.0) if fmin <= f * m <= fmax]
    if len(cands) <= 1:
        return f
    n = len(x)
    # a 0.25 s loudest stretch is enough to judge the octave
    m = min(n, int(0.25 * sr))
    env = _frame_rms(x, hop=max(64, sr // 100))
    c = int(np.clip(np.argmax(env) - m // 2, 0, n - m))
    seg = x[c : c + m] * np.hanning(m)
    limit = min(sr / 2 - 1, 30 * max(cands))
    scores = []
    for g in cands:
        ks = np.arange(1, int(limit // g) + 1, dtype=np.float64)
        if len(ks) == 0:
            scores.append(-np.inf)
            continue
        on = np.sum(np.abs(_project(seg, g, ks, sr)) ** 2)
        off = np.sum(np.abs(_project(seg, g, ks - 0.5, sr)) ** 2)
        scores.append(on - off)
    scores = np.array(scores)
    best = scores.max()
    ok = [g for g, sc in zip(cands, scores) if sc >= best - 0.1 * abs(best)]
    return float(max(ok))


def legacy_f0(x: np.ndarray, sr: int, fmin: float = 25.0, fmax: float = 4200.0) -> float:
    """Fundamental by YIN (cumulative mean normalised difference, threshold 0.1) on the loudest
    stretch, refined by maximising the energy the first harmonics project onto multiples of f0."""
    n = len(x)
    tau_max = min(int(sr / fmin) + 2, n // 3)
    tau_min = max(2, int(sr / fmax))
    w = min(max(int(0.1 * sr), 2 * tau_max), n - tau_max)
    env = _frame_rms(x, hop=max(64, sr // 100))
    centre = int(np.argmax(env))
    start = int(np.clip(centre - (w + tau_max) // 2, 0, n - w - tau_max))
    seg = x[start : start + w + tau_max]
    # d(tau) = sum_j (x_j - x_{j+tau})^2 for j < w, via FFT cross-correlation
    nfft = 1 << int(np.ceil(np.log2(len(seg) * 2)))
    a = seg[:w]
    corr = np.fft.irfft(np.conj(np.fft.rfft(a, nfft)) * np.fft.rfft(seg, nfft), nfft)[: tau_max + 1]
    c2 = np.concatenate([[0.0], np.cumsum(seg**2)])
    energy_shift = c2[w : w + tau_max + 1] - c2[: tau_max + 1]
    d = np.sum(a**2) + energy_shift - 2 * corr
    d[0] = 0.0
    cmnd = np.ones_like(d)
    cs = np.cumsum(d[1:])
    cmnd[1:] = d[1:] * np.arange(1, len(d)) / np.maximum(cs, 1e-30)
    tau = None
    for t in range(tau_min, tau_max):
        if cmnd[t] < 0.1:
            while t + 1 < tau_max and cmnd[t + 1] < cmnd[t]:
                t += 1
            tau = t
            break
    if tau is None:
        tau = tau_min + int(np.argmin(cmnd[tau_min:tau_max]))
    if 1 <= tau < len(cmnd) - 1:
        y0, y1, y2 = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
        den = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / den if abs(den) > 1e-12 else 0.0
    else:
        shift = 0.0
    f = sr / (tau + float(np.clip(shift, -1, 1)))
    return refine_f0(x, sr, _fix_octave(x, f, sr, fmin, fmax))
