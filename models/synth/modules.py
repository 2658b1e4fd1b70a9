"""Building blocks of the Voice synth: envelopes, LFOs, band-limited wavetables, segment phases.

Control signals live at the control rate on a grid of K points ``t_k = k * hop / sample_rate``;
the audio between two control points is produced segment by segment (``hop`` samples each), with
frequencies and amplitudes varying linearly inside a segment. The oscillator phase is the exact
discrete running sum of the (piecewise linear) instantaneous frequency, evaluated per segment from
a float64 phase at the segment start, so it stays precise for any length.
"""

from __future__ import annotations

import math

import torch

TWO_PI = 2.0 * math.pi


ROW_ALIGN = 32  # elements per row that keep torch's vectorised kernels aligned to each row start


def rowwise(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply an elementwise ``fn`` so that each row's result is bit-identical whatever batch the row
    sits in: torch flattens contiguous tensors and some vectorised kernels (exp2, pow) give the
    scalar tail slightly different roundings, so rows are padded to a multiple of ROW_ALIGN."""
    n = x.shape[-1]
    pad = (-n) % ROW_ALIGN
    if pad == 0:
        return fn(x)
    return fn(torch.nn.functional.pad(x, (0, pad)))[..., :n]


def midi_to_hz(midi: torch.Tensor) -> torch.Tensor:
    return rowwise(lambda m: 440.0 * torch.exp2((m - 69.0) / 12.0), midi)


def adsr(
    t: torch.Tensor,
    duration: torch.Tensor,
    attack: torch.Tensor,
    decay: torch.Tensor,
    sustain: torch.Tensor,
    release: torch.Tensor,
    alpha: torch.Tensor,
    dt: float,
) -> torch.Tensor:
    """ADSR envelope on the time grid ``t`` (K,), parameters shaped (B, 1); returns (B, K).

    Attack rises 0 -> 1 in ``attack`` seconds, decay falls 1 -> sustain in ``decay`` seconds, the
    level holds until note-off at ``duration`` and then falls to 0 in ``release`` seconds. If the key
    is released mid-attack or mid-decay, the release starts from the level reached (attack and
    decay freeze at note-off). Each segment is a ramp raised to the power ``alpha``. Segments shorter
    than ``dt`` (one control period) take one control period, so nothing divides by zero and a zero
    attack is a 1-period fade-in rather than a click.
    """
    held = torch.minimum(t, duration)
    a = (held / attack.clamp_min(dt)).clamp(0.0, 1.0).pow(alpha)
    d = ((held - attack) / decay.clamp_min(dt)).clamp(0.0, 1.0)
    d = sustain + (1.0 - sustain) * (1.0 - d).pow(alpha)
    r = ((t - duration) / release.clamp_min(dt)).clamp(0.0, 1.0)
    r = (1.0 - r).pow(alpha)
    return a * d * r


def lfo(
    frequency: torch.Tensor,
    mod_depth: torch.Tensor,
    initial_phase: torch.Tensor,
    shape_weights: torch.Tensor,
    rate_env: torch.Tensor,
    control_rate: float,
    exponent: float = math.e,
) -> torch.Tensor:
    """Low-frequency oscillator in [0, 1] at control rate, (B, K).

    frequency/mod_depth/initial_phase (B, 1); shape_weights (B, 5) for sine, triangle, saw, reverse
    saw and square, raised to ``exponent`` and normalised (all zero -> silent); rate_env (B, K)
    adds ``mod_depth * rate_env`` Hz to the rate (never below 0 Hz).
    """
    freq = (frequency + mod_depth * rate_env).clamp_min(0.0)
    step = freq / control_rate
    phase = torch.cumsum(step, dim=1) - step + initial_phase / TWO_PI  # cycles, starts at phase 0
    cos = (torch.cos(TWO_PI * phase + math.pi) + 1.0) / 2.0
    saw = phase - torch.floor(phase)
    rsaw = 1.0 - saw
    tri = 1.0 - (2.0 * saw - 1.0).abs()
    sqr = ((saw > 0.25) & (saw < 0.75)).to(phase.dtype)  # where cos(2 pi p + pi) > 0
    # exponent as a per-column tensor: keeps the op row-wise (no flattening over the batch), so
    # an item's result is bit-identical whatever batch it is rendered in
    w = shape_weights.clamp_min(0.0).pow(torch.full_like(shape_weights[0], exponent))
    w = w / w.sum(dim=1, keepdim=True).clamp_min(1e-12)
    # explicit sum (not einsum/matmul) so an item's result does not depend on the batch around it
    out = w[:, 0:1] * cos
    for i, shape in enumerate((tri, saw, rsaw, sqr), start=1):
        out = out + w[:, i : i + 1] * shape
    return out


def segment_phase_coeffs(freq_hz: torch.Tensor, hop: int, sample_rate: float, start_cycles: torch.Tensor):
    """Coefficients of the per-segment phase polynomial for a piecewise-linear frequency.

    freq_hz: (B, K) frequencies at the control points; start_cycles: (B, 1) initial phase in cycles.
    Inside segment k (samples n = k*hop + j, j = 0..hop-1) the frequency is
    f_k + (f_{k+1} - f_k) * j / hop and the phase (in cycles) is the running sum
    ``P_k + f_k * j / sr + (f_{k+1} - f_k) * j (j - 1) / (2 hop sr)``.
    Returns (P_k mod 1 as float32, b_k, c_k), each (B, K-1).
    """
    f = freq_hz.double()
    f0, f1 = f[:, :-1], f[:, 1:]
    df = f1 - f0
    inc = f0 * (hop / sample_rate) + df * ((hop - 1) / (2.0 * sample_rate))
    p = torch.cumsum(inc, dim=1) - inc + start_cycles.double()
    p = p - torch.floor(p)
    b = f0 / sample_rate
    c = df / (2.0 * hop * sample_rate)
    dtype = freq_hz.dtype
    return p.to(dtype), b.to(dtype), c.to(dtype)


def harmonic_tables(
    sample_rate: float,
    n_bands: int = 128,
    max_harmonics: int = 1023,
    oversample: int = 32,
    min_size: int = 1024,
    max_size: int = 16384,
):
    """Band-limited square and saw wavetables, one per semitone band of MIDI pitch.

    Band b serves fundamentals below midi_to_hz(b + 1) and holds only the harmonics h with
    h * midi_to_hz(b + 1) < sample_rate / 2 (and h <= max_harmonics), so nothing it plays aliases.
    Square: (4/pi) sum_{odd h} sin(2 pi h p) / h; saw: -(2/pi) sum_h sin(2 pi h p) / h = 2p - 1.

    Each band's table length is the power of two >= ``oversample`` x its harmonic count (clamped to
    [min_size, max_size]): linear interpolation's images of harmonic h fall near multiples of the
    table length with relative level about (h / size)^2, so a table 32x longer than its top harmonic
    keeps them below -80 dB, while high notes get small tables that stay in cache.

    Returns ``(table, offsets, sizes)``: a float32 table (rows, 4) with rows
    [square_i, square_{i+1} - square_i, (saw - square)_i, (saw - square)_{i+1} - (saw - square)_i]
    (wrapping within each band), so that linear interpolation of the shape mix
    ``(1 - s) * square + s * saw`` at position i + fr is ``row[0] + fr * row[1] + s * (row[2] + fr * row[3])``;
    and each band's first row and length, (n_bands,) int64.
    """
    nyq = sample_rate / 2.0
    tables, offsets, sizes = [], [], []
    row = 0
    for b in range(n_bands):
        top = 440.0 * 2.0 ** ((b + 1.0 - 69.0) / 12.0)
        n_h = int(min(max_harmonics, math.floor((nyq - 1e-9) / top)))
        size = min_size
        while size < oversample * n_h and size < max_size:
            size *= 2
        n_h = min(n_h, size // 2 - 1)
        h = torch.arange(size // 2 + 1, dtype=torch.float64)
        keep = (h >= 1) & (h <= n_h)
        inv_h = torch.where(keep, 1.0 / h.clamp_min(1.0), torch.zeros_like(h))
        # irfft: x[m] = (1/N) sum X[k] e^{2 pi i k m / N}; a sin(2 pi h m / N) <-> X[h] = -i a N / 2
        sq_amp = torch.where((h % 2) == 1, 4.0 / math.pi * inv_h, torch.zeros_like(h))
        saw_amp = -2.0 / math.pi * inv_h
        sq = torch.fft.irfft(torch.complex(torch.zeros_like(sq_amp), -sq_amp * size / 2.0), n=size)
        saw = torch.fft.irfft(torch.complex(torch.zeros_like(saw_amp), -saw_amp * size / 2.0), n=size)
        diff = saw - sq
        tables.append(torch.stack((sq, torch.roll(sq, -1) - sq, diff, torch.roll(diff, -1) - diff), dim=-1))
        offsets.append(row)
        sizes.append(size)
        row += size
    table = torch.cat(tables).float().contiguous()
    return table, torch.tensor(offsets, dtype=torch.long), torch.tensor(sizes, dtype=torch.long)
