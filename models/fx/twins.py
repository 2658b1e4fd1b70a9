"""Differentiable torch twins of the pedalboard effects that have a faithful one.

- EQ, high-pass, low-pass: the same biquad / first-order coefficients JUCE (and so pedalboard) uses
  (RBJ cookbook shelves and peaks, bilinear first-order filters), evaluated exactly on the FFT grid and
  applied by frequency-domain filtering of the zero-padded signal. With enough padding this equals the
  IIR filter's output up to the truncation of its impulse response (tests/test_fx_twins.py measures it).
- Distortion: tanh(x * 10 ** (drive_db / 20)), which is what pedalboard.Distortion documents and does.
- Gain: x * 10 ** (gain_db / 20).

Everything else in a chain (reverb, delay, chorus, compressor) is run by pedalboard inside an autograd
function: linear effects pass gradients by the adjoint of a linear time-invariant system (time-reverse,
filter, time-reverse), which is exact for reverb and delay and approximate for chorus; the compressor
passes them through its frozen gain (output / input), an approximation. Their own parameters are
searched gradient-free.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .chain import chain_slots
from .effects import EFFECTS, FILTER_EFFECTS, MAX_FREQ_FRACTION, FxStage, clamp_frequency, walk
from .render import make_plugin, render_plugins

FilterStage = tuple[str, dict[str, torch.Tensor], dict[str, float]]  # (plugin, physical values, fixed arguments)


# ----------------------------------------------------------------------------- filter coefficients
def _omega(f: torch.Tensor, sr: float) -> torch.Tensor:
    return 2 * math.pi * torch.clamp(f, max=MAX_FREQ_FRACTION * sr) / sr


def low_shelf(f: torch.Tensor, gain_db: torch.Tensor, q: torch.Tensor | float, sr: float) -> tuple[torch.Tensor, torch.Tensor]:
    A = torch.sqrt(10 ** (gain_db / 20))
    w = _omega(f, sr)
    c, s = torch.cos(w), torch.sin(w)
    beta = s * torch.sqrt(A) / q
    am, ap = A - 1, A + 1
    b = torch.stack([A * (ap - am * c + beta), A * 2 * (am - ap * c), A * (ap - am * c - beta)])
    a = torch.stack([ap + am * c + beta, -2 * (am + ap * c), ap + am * c - beta])
    return b, a


def high_shelf(f: torch.Tensor, gain_db: torch.Tensor, q: torch.Tensor | float, sr: float) -> tuple[torch.Tensor, torch.Tensor]:
    A = torch.sqrt(10 ** (gain_db / 20))
    w = _omega(f, sr)
    c, s = torch.cos(w), torch.sin(w)
    beta = s * torch.sqrt(A) / q
    am, ap = A - 1, A + 1
    b = torch.stack([A * (ap + am * c + beta), A * -2 * (am + ap * c), A * (ap + am * c - beta)])
    a = torch.stack([ap - am * c + beta, 2 * (am - ap * c), ap - am * c - beta])
    return b, a


def peak(f: torch.Tensor, gain_db: torch.Tensor, q: torch.Tensor | float, sr: float) -> tuple[torch.Tensor, torch.Tensor]:
    A = torch.sqrt(10 ** (gain_db / 20))
    w = _omega(f, sr)
    alpha = torch.sin(w) / (2 * q)
    c2 = -2 * torch.cos(w)
    one = torch.ones_like(A)
    b = torch.stack([1 + alpha * A, c2 * one, 1 - alpha * A])
    a = torch.stack([1 + alpha / A, c2 * one, 1 - alpha / A])
    return b, a


def first_order_highpass(f: torch.Tensor, sr: float) -> tuple[torch.Tensor, torch.Tensor]:
    n = torch.tan(math.pi * torch.clamp(f, max=MAX_FREQ_FRACTION * sr) / sr)
    one = torch.ones_like(n)
    return torch.stack([one, -one, 0 * one]), torch.stack([n + 1, n - 1, 0 * one])


def first_order_lowpass(f: torch.Tensor, sr: float) -> tuple[torch.Tensor, torch.Tensor]:
    n = torch.tan(math.pi * torch.clamp(f, max=MAX_FREQ_FRACTION * sr) / sr)
    one = torch.ones_like(n)
    return torch.stack([n, n, 0 * one]), torch.stack([n + 1, n - 1, 0 * one])


def biquad_response(b: torch.Tensor, a: torch.Tensor, w: torch.Tensor, z: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Complex response of (b0 + b1 z^-1 + b2 z^-2) / (a0 + a1 z^-1 + a2 z^-2) at angular frequencies w
    (``z``: precomputed (z^-1, z^-2) on that grid; its dtype sets the precision)."""
    if z is None:
        z1 = torch.exp(-1j * w.to(torch.float64))
        z = (z1, z1 * z1)
    z1, z2 = z
    real = torch.float64 if z1.dtype == torch.complex128 else torch.float32
    b = b.to(torch.float64) / a[0].to(torch.float64)
    a = a.to(torch.float64) / a[0].to(torch.float64)
    b, a = b.to(real), a.to(real)
    return (b[0] + b[1] * z1 + b[2] * z2) / (1 + a[1] * z1 + a[2] * z2)


_GRID_CACHE: dict[tuple[int, float, bool], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


def _fft_grid(nfft: int, sr: float, precise: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    key = (nfft, float(sr), precise)
    if key not in _GRID_CACHE:
        if len(_GRID_CACHE) > 8:
            _GRID_CACHE.clear()
        w = 2 * math.pi * torch.fft.rfftfreq(nfft, d=1.0 / sr).to(torch.float64) / sr
        z1 = torch.exp(-1j * w)
        z2 = z1 * z1
        if not precise:
            z1, z2 = z1.to(torch.complex64), z2.to(torch.complex64)
        _GRID_CACHE[key] = (w, z1, z2)
    return _GRID_CACHE[key]


# ----------------------------------------------------------------------------- chain responses
def stage_coefficients(plugin: str, values: dict[str, torch.Tensor], fixed: dict[str, float], sr: float):
    if plugin == "LowShelfFilter":
        return low_shelf(values["cutoff_frequency_hz"], values["gain_db"], fixed.get("q", values.get("q", 0.7071)), sr)
    if plugin == "HighShelfFilter":
        return high_shelf(values["cutoff_frequency_hz"], values["gain_db"], fixed.get("q", values.get("q", 0.7071)), sr)
    if plugin == "PeakFilter":
        return peak(values["cutoff_frequency_hz"], values["gain_db"], values["q"], sr)
    if plugin == "HighpassFilter":
        return first_order_highpass(values["cutoff_frequency_hz"], sr)
    if plugin == "LowpassFilter":
        return first_order_lowpass(values["cutoff_frequency_hz"], sr)
    raise KeyError(plugin)


def effect_values(chain: list[str], normalized: torch.Tensor) -> list[list[dict[str, torch.Tensor]]]:
    """Normalised (P,) tensor -> per effect, per stage: physical parameter tensors (differentiable)."""
    out: list[list[dict[str, torch.Tensor]]] = [[] for _ in chain]
    for i, _name, stage, xs in walk(chain, normalized):
        out[i].append({p.name: p.to_physical(x.to(torch.float64)) for p, x in zip(stage.params, xs)})
    return out


def filter_stages(chain: list[str], values: list[list[dict[str, torch.Tensor]]]) -> list[FilterStage]:
    """The filter stages (effects whose twin is ``filter``) of a chain, in order, with their values."""
    return [
        (stage.plugin, v, stage.fixed)
        for name, stages in zip(chain, values)
        if name in FILTER_EFFECTS
        for stage, v in zip(EFFECTS[name].stages, stages)
    ]


def filter_response(
    plugins: list[tuple[str, dict[str, torch.Tensor], dict[str, float]]],
    freqs_hz: torch.Tensor | None,
    sr: float,
    *,
    grid: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Complex response of a cascade of filter plugins at freqs_hz (or on a precomputed FFT grid)."""
    if grid is None:
        assert freqs_hz is not None
        w = 2 * math.pi * freqs_hz.to(torch.float64) / sr
        z1 = torch.exp(-1j * w)
        grid = (w, z1, z1 * z1)
    w, z1, z2 = grid
    h = None
    for plugin, vals, fixed in plugins:
        b, a = stage_coefficients(plugin, vals, fixed, sr)
        r = biquad_response(b, a, w, (z1, z2))
        h = r if h is None else h * r
    return h if h is not None else torch.ones_like(z1)


def eq_curve_db(chain: list[str], normalized: np.ndarray | torch.Tensor, freqs_hz: np.ndarray, sr: float) -> np.ndarray:
    """Magnitude (dB) of all the filters (eq, highpass, lowpass) of a chain at freqs_hz; gains are added."""
    x = torch.as_tensor(np.asarray(normalized, dtype=np.float64))
    vals = effect_values(chain, x)
    plugins = filter_stages(chain, vals)
    f = torch.as_tensor(np.asarray(freqs_hz, dtype=np.float64))
    if not plugins:
        return np.zeros(len(freqs_hz))
    h = filter_response(plugins, f, sr)
    db = 20 * torch.log10(torch.abs(h) + 1e-12)
    if "gain" in chain:
        for name, stages in zip(chain, vals):
            if name == "gain":
                db = db + stages[0]["gain_db"]
    return db.detach().numpy()


def fft_filter(
    x: torch.Tensor, plugins: list[tuple[str, dict[str, torch.Tensor], dict[str, float]]], sr: float, pad: int, *, precise: bool = False
) -> torch.Tensor:
    """Apply a filter cascade to (B, N) audio in the frequency domain (zero padding ``pad``).
    ``precise``: float64 throughout (default float32/complex64, about 3x faster; differences ~1e-7)."""
    n = x.shape[-1]
    nfft = _good_size(n + pad)
    h = filter_response(plugins, None, sr, grid=_fft_grid(nfft, sr, precise))
    X = torch.fft.rfft(x.to(torch.float64 if precise else torch.float32), n=nfft)
    y = torch.fft.irfft(X * h, n=nfft)[..., :n]
    return y.to(x.dtype)


def _good_size(n: int) -> int:
    try:
        import scipy.fft

        return int(scipy.fft.next_fast_len(n, real=True))
    except Exception:  # pragma: no cover
        return 1 << (n - 1).bit_length()


# ----------------------------------------------------------------------------- pedalboard inside autograd
class _PedalboardLinear(torch.autograd.Function):
    """y = f(x) by pedalboard for a linear effect; backward by the adjoint R f(R g) (exact when LTI)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, plugins: list[Any], sr: int) -> torch.Tensor:  # type: ignore[override]
        ctx.plugins, ctx.sr = plugins, sr
        return _pb_batch(x, plugins, sr)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor):  # type: ignore[override]
        return torch.flip(_pb_batch(torch.flip(g, dims=[-1]), ctx.plugins, ctx.sr), dims=[-1]), None, None


class _PedalboardFrozenGain(torch.autograd.Function):
    """y = f(x) by pedalboard for a dynamics effect; backward through the frozen gain y / x."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, plugins: list[Any], sr: int) -> torch.Tensor:  # type: ignore[override]
        y = _pb_batch(x, plugins, sr)
        gain = (y * x) / (x * x + 1e-6)
        ctx.save_for_backward(gain.clamp(0.0, 8.0))
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor):  # type: ignore[override]
        (gain,) = ctx.saved_tensors
        return g * gain, None, None


def _pb_batch(x: torch.Tensor, plugins: list[Any], sr: int) -> torch.Tensor:
    arr = x.detach().cpu().numpy().astype(np.float32)
    rows = []
    for row in arr:
        y = render_plugins(plugins, row[None, :], sr).mean(axis=0)[: row.shape[0]]
        if y.shape[0] < row.shape[0]:
            y = np.pad(y, (0, row.shape[0] - y.shape[0]))
        rows.append(y)
    return torch.from_numpy(np.stack(rows)).to(x.dtype).to(x.device)


# ----------------------------------------------------------------------------- the whole chain
def _gain_twin(y: torch.Tensor, stages: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    return y * (10 ** (stages[0]["gain_db"] / 20)).to(y.dtype)


def _tanh_drive_twin(y: torch.Tensor, stages: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    return torch.tanh(y * (10 ** (stages[0]["drive_db"] / 20)).to(y.dtype))


# The sample-wise twins, by the name an effect declares (``Effect.twin``). "filter" twins are not here:
# their stages are gathered into one frequency-domain cascade (``stage_coefficients``, ``fft_filter``).
TWINS = {"gain": _gain_twin, "tanh_drive": _tanh_drive_twin}
assert {e.twin for e in EFFECTS.values() if e.twin} <= set(TWINS) | {"filter"}


def _plugin_from_values(stage: FxStage, values: dict[str, torch.Tensor], sr: int) -> Any:
    args = {k: float(t.detach()) for k, t in values.items()}
    return make_plugin(stage, {k: clamp_frequency(v, sr) if k == "cutoff_frequency_hz" else v for k, v in args.items()})


def apply_chain(chain: list[str], normalized: torch.Tensor, x: torch.Tensor, sr: int, *, pad: int | None = None) -> torch.Tensor:
    """Differentiable (w.r.t. the twin parameters and the input) rendering of a chain on (B, N) mono audio.

    Twin effects run in torch; the others run in pedalboard with the settings in ``normalized``
    (detached) and pass gradients as described in the module docstring."""
    if pad is None:
        pad = int(0.25 * sr)
    vals = effect_values(chain, normalized)
    y = x
    pending: list[FilterStage] = []

    def flush(sig: torch.Tensor) -> torch.Tensor:
        if pending:
            sig = fft_filter(sig, list(pending), sr, pad)
            pending.clear()
        return sig

    for name, stages in zip(chain, vals):
        eff = EFFECTS[name]
        if eff.twin == "filter":
            pending.extend(filter_stages([name], [stages]))
            continue
        y = flush(y)
        if eff.twin is not None:
            y = TWINS[eff.twin](y, stages)
        else:
            plugins = [_plugin_from_values(stage, v, sr) for stage, v in zip(eff.stages, stages)]
            fn = _PedalboardLinear if eff.linear else _PedalboardFrozenGain
            y = fn.apply(y, plugins, sr)
    return flush(y)


def twin_mask(chain: list[str]) -> np.ndarray:
    """True for the parameters that have a differentiable twin."""
    return np.array([s.differentiable for s in chain_slots(chain)], dtype=bool)
