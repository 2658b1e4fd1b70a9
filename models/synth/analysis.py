"""Place any sound among the five archetypes: estimate the mix weights from a recording.

Method (``estimate_archetypes``):
1. The fundamental f0: the note of ``library.descriptors`` (pYIN, the project's one pitch estimate),
   refined by maximising the energy the first harmonics project onto exact multiples of f0 over the
   whole sound. (Until LSTMABAR is retrained, its data recipe keeps the YIN estimator it was trained
   with: ``models/lstmabar/legacy_f0.py``.)
2. Complex projections X_k of the (Hann-windowed) sound onto k f0 for every harmonic below Nyquist
   (up to ``max_harmonics``). With the common envelope estimated from the frame RMS, they give each
   harmonic's signed sine amplitude (phases taken relative to the fundamental) and the energy the
   harmonics carry.
3. Non-negative least squares of those amplitudes against the four harmonic archetype series
   (sine, square, sawtooth, triangle; ``archetype.archetype_coefficients``) seen through the engine's
   low-pass filter, on a grid of cutoffs and resonances; the best fit wins.
4. The aperiodic share: the energy the harmonics do not explain, read as filtered white noise.

The weights are amplitude shares (each archetype at unit RMS), as ``render_archetypes`` takes them,
so sounds the engine made come back with the weights they were given (``recovery_error``). On
real recordings the answer is a description ("mostly sawtooth-like harmonics, 30 % noise"), not a
ground truth. Magnitude-only fitting is used when phases are not trustworthy (``use_phase=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from .archetype import ARCHETYPES, archetype_coefficients

CUTOFF_GRID = np.geomspace(20.0, 20000.0, 49)[::-1]  # high first: ties go to the least filtering
RESONANCE_GRID = np.array([0.707, 0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 6.0])
FALLBACK_F0 = 110.0


@dataclass
class ArchetypeEstimate:
    weights: dict[str, float]
    f0_hz: float | None
    cutoff_hz: float | None
    resonance: float | None
    harmonic_share: float  # fraction of the energy on harmonics of f0
    fit_error: float  # relative residual of the harmonic fit
    silent: bool = False
    notes: list[str] = field(default_factory=list)

    def vector(self) -> np.ndarray:
        return np.array([self.weights[a] for a in ARCHETYPES], dtype=np.float64)

    @property
    def dominant(self) -> str:
        return max(self.weights, key=self.weights.get)


def _lp_gain(f: np.ndarray, fc: float, q: float) -> np.ndarray:
    r = f / fc
    return 1.0 / np.sqrt((1.0 - r**2) ** 2 + (r / q) ** 2 + 1e-12)


def _frame_rms(x: np.ndarray, hop: int) -> np.ndarray:
    n = len(x)
    frames = max(1, n // hop)
    e = np.sqrt(np.mean(x[: frames * hop].reshape(frames, hop) ** 2, axis=1) + 1e-20)
    centres = (np.arange(frames) + 0.5) * hop
    return np.interp(np.arange(n), centres, e)


def _project(x: np.ndarray, f0: float, ks: np.ndarray, sr: int, chunk: int = 32) -> np.ndarray:
    t = np.arange(len(x)) / sr
    out = np.empty(len(ks), dtype=np.complex128)
    for a in range(0, len(ks), chunk):
        kk = ks[a : a + chunk]
        out[a : a + chunk] = np.exp(-2j * np.pi * f0 * np.outer(kk, t)) @ x
    return out


def refine_f0(x: np.ndarray, sr: int, f: float) -> float:
    """Sharpen an f0 for harmonic fitting: maximise the energy the first harmonics project onto
    multiples of f over the whole sound (grids of +-1 %, 0.1 %, 0.01 %)."""
    seg = x * np.hanning(len(x))
    ks = np.arange(1, int(min(6, (sr / 2 - 1) // f)) + 1)
    for width, steps in ((0.01, 21), (0.001, 21), (0.0001, 21)):
        grid = f * (1.0 + np.linspace(-width, width, steps))
        energies = [np.sum(np.abs(_project(seg, g, ks, sr)) ** 2) for g in grid]
        f = float(grid[int(np.argmax(energies))])
    return f


def estimate_f0(x: np.ndarray, sr: int) -> float:
    """The note of ``library.descriptors`` (pYIN), sharpened by ``refine_f0``. A sound with no voiced
    frame gets the fallback: its harmonics carry almost none of its energy whatever f0 is used."""
    from lstmabar.library.descriptors.pitch import measure_pitch

    f = measure_pitch(x, sr).f0_hz
    return refine_f0(x, sr, float(f) if f else FALLBACK_F0)


def estimate_archetypes(
    audio: np.ndarray,
    sample_rate: int,
    *,
    f0: float | None = None,
    max_harmonics: int = 160,
    use_phase: bool = True,
    max_seconds: float = 4.0,
) -> ArchetypeEstimate:
    """Estimate the five weights of a recording (mono or (channels, frames))."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=0)
    x = x[: int(max_seconds * sample_rate)]
    sr = int(sample_rate)
    if len(x) < sr // 20 or np.sqrt(np.mean(x**2)) < 1e-5:
        return ArchetypeEstimate({a: 0.0 for a in ARCHETYPES}, None, None, None, 0.0, 1.0, silent=True,
                                 notes=["the sound is silent or too short to analyse"])
    if f0 is None:
        f0 = estimate_f0(x, sr)
    h = np.hanning(len(x))
    env = _frame_rms(x, hop=max(64, sr // 100))
    he = h * env
    s1, s2 = he.sum(), (he**2).sum()
    kmax = int(min(max_harmonics, np.floor((sr / 2 - 1e-6) / f0)))
    ks = np.arange(1, kmax + 1)
    X = _project(x * h, f0, ks, sr)
    e_tot = float(np.sum((x * h) ** 2))
    # each harmonic b sin(...) * env gives |X_k| = |b| s1 / 2 and energy b^2/2 * s2
    amp = 2.0 * np.abs(X) / s1
    e_harm = float(np.sum(amp**2 / 2.0 * s2))
    harmonic_share = float(np.clip(e_harm / max(e_tot, 1e-30), 0.0, 1.0))
    if use_phase:
        u = 1j * X[0] / (abs(X[0]) + 1e-30)  # e^{i theta}, assuming a positive fundamental
        beta = np.real(2j * X * np.conj(u) ** ks) / s1
    else:
        beta = amp
    coef = archetype_coefficients(kmax).double().numpy().T  # (K, 4)
    if not use_phase:
        coef = np.abs(coef)
    freqs = f0 * ks
    nyq = sr / 2.0
    mask = np.clip((nyq - freqs) / (0.02 * nyq), 0.0, 1.0)
    noise_freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    best = None
    norm = float(np.sum(beta**2)) + 1e-30
    for q in RESONANCE_GRID:
        for fc in CUTOFF_GRID:
            A = coef * (_lp_gain(freqs, fc, q) * mask)[:, None]
            w, _ = nnls(A, beta)
            res = float(np.sum((A @ w - beta) ** 2)) / norm
            if best is None or res < best[0] - 1e-9:
                best = (res, w, fc, q)
    res, wh, fc, q = best
    if res > 1e-10:
        from scipy.optimize import minimize

        def objective(v):
            A = coef * (_lp_gain(freqs, np.exp(v[0]), np.exp(v[1])) * mask)[:, None]
            w, _ = nnls(A, beta)
            return float(np.sum((A @ w - beta) ** 2)) / norm

        opt = minimize(objective, np.log([fc, q]), method="Nelder-Mead",
                       options={"xatol": 1e-4, "fatol": 1e-12, "maxiter": 200})
        if opt.fun < res:
            fc, q = float(np.exp(opt.x[0])), float(np.clip(np.exp(opt.x[1]), 0.3, 20.0))
            A = coef * (_lp_gain(freqs, fc, q) * mask)[:, None]
            wh, _ = nnls(A, beta)
            res = float(np.sum((A @ wh - beta) ** 2)) / norm
    e_noise = max(e_tot - e_harm, 0.0)
    g_n = float(np.sqrt(np.mean(_lp_gain(noise_freqs, fc, q) ** 2)))
    wn = float(np.sqrt(e_noise / (s2 * g_n**2 + 1e-30)))
    raw = np.concatenate([wh, [wn]])
    total = raw.sum()
    weights = raw / total if total > 0 else np.full(5, 0.2)
    notes = []
    if harmonic_share < 0.2:
        notes.append("little harmonic structure: mostly noise-like")
    return ArchetypeEstimate(
        weights={a: float(weights[i]) for i, a in enumerate(ARCHETYPES)},
        f0_hz=float(f0),
        cutoff_hz=float(fc),
        resonance=float(q),
        harmonic_share=harmonic_share,
        fit_error=float(res),
        notes=notes,
    )


def recovery_error(
    n: int = 64,
    *,
    seed: int = 0,
    sample_rate: int = 16_000,
    seconds: float = 1.0,
    min_harmonics_below_cutoff: float = 4.0,
) -> dict[str, float]:
    """Render ``n`` random engine sounds and compare the estimated weights with the given ones.

    Sounds are sustained notes (attack <= 0.1 s, note held through the clip); the cutoff is kept at
    least ``min_harmonics_below_cutoff`` x f0 (below that every archetype is a sine, so nothing can
    tell them apart). Returns mean absolute error, RMSE, cosine and dominant-archetype accuracy."""
    import torch

    from .archetype import ArchetypeParams, midi_to_hz, render_archetypes

    p = ArchetypeParams.random(n, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    p.attack = 0.001 + 0.1 * torch.rand(n, generator=g)
    p.duration = torch.full((n,), seconds)
    p.sustain = 0.5 + 0.5 * torch.rand(n, generator=g)
    p.midi_f0 = 36 + 48 * torch.rand(n, generator=g)
    f0 = midi_to_hz(p.midi_f0)
    p.cutoff = torch.maximum(p.cutoff, f0 * min_harmonics_below_cutoff)
    with torch.no_grad():
        y = render_archetypes(p, sample_rate=sample_rate, seconds=seconds, seed=seed).numpy()
    true = p.weights.numpy()
    est = np.stack([estimate_archetypes(y[i], sample_rate).vector() for i in range(n)])
    err = est - true
    cos = np.sum(est * true, 1) / (np.linalg.norm(est, axis=1) * np.linalg.norm(true, axis=1) + 1e-12)
    return {
        "n": float(n),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "max_abs_error": float(np.abs(err).max()),
        "cosine": float(cos.mean()),
        "dominant_accuracy": float(np.mean(est.argmax(1) == true.argmax(1))),
    }


__all__ = ["ArchetypeEstimate", "estimate_archetypes", "estimate_f0", "recovery_error", "refine_f0"]
