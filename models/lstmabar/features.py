"""Audio front end of the LSTMABAR audio tower, in plain torch (no torchaudio): differentiable
band-limited resampling, an HTK mel filterbank and log-mel spectrograms."""

from __future__ import annotations

import math

import torch

SAMPLE_RATE = 16_000
N_FFT = 1024
HOP = 256
N_MELS = 64
FMIN = 20.0
FMAX = 8000.0


def hz_to_mel(f):
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(f, dtype=torch.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (torch.as_tensor(m, dtype=torch.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   fmin: float = FMIN, fmax: float = FMAX) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, area-normalised (Slaney)."""
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    mels = torch.linspace(float(hz_to_mel(fmin)), float(hz_to_mel(fmax)), n_mels + 2, dtype=torch.float64)
    hz = mel_to_hz(mels)
    lo, ce, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lo) / (ce - lo)
    down = (hi - freqs[None]) / (hi - ce)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    fb = fb * (2.0 / (hi - lo))  # equal area
    return fb.float()


def resample(x: torch.Tensor, from_rate: int, to_rate: int) -> torch.Tensor:
    """Band-limited resampling of (..., samples) by FFT (differentiable; exact for periodic signals,
    good enough for clips). Identity when the rates match."""
    if int(from_rate) == int(to_rate):
        return x
    n = x.shape[-1]
    m = max(1, int(round(n * to_rate / from_rate)))
    spec = torch.fft.rfft(x, dim=-1)
    keep = min(spec.shape[-1], m // 2 + 1)
    out = torch.zeros(*spec.shape[:-1], m // 2 + 1, dtype=spec.dtype, device=x.device)
    out = torch.cat([spec[..., :keep], out[..., keep:]], dim=-1)
    return torch.fft.irfft(out, n=m, dim=-1) * (m / n)


class LogMel(torch.nn.Module):
    """(B, samples) at SAMPLE_RATE -> (B, 1, n_mels, frames) log-mel, loudness-normalised per clip
    (the waveform is scaled to unit RMS first, so the tower hears timbre, not level)."""

    def __init__(self, n_mels: int = N_MELS, n_fft: int = N_FFT, hop: int = HOP, sample_rate: int = SAMPLE_RATE):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("fb", mel_filterbank(n_mels, n_fft, sample_rate), persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_power(self.power(x))

    def power(self, x: torch.Tensor) -> torch.Tensor:
        """(B, samples) at this front end's rate -> STFT power (B, bins, frames) of the unit-RMS waveform."""
        x = x / (x.pow(2).mean(-1, keepdim=True).sqrt() + 1e-4)
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        return spec.real**2 + spec.imag**2

    def from_power(self, power: torch.Tensor) -> torch.Tensor:
        """STFT power (B, bins, frames) -> (B, 1, n_mels, frames) log-mel (a filtered power spectrum too)."""
        mel = torch.einsum("mf,bft->bmt", self.fb, power)
        return (torch.log(mel + 1e-6) / math.log(10.0))[:, None]


# ------------------------------------------------------------------ full band (the v2 audio tower's input)
# The front end above hears 20-8000 Hz at 16 kHz, so "air", "sizzle" or a hi-hat's character are
# invisible to it. This one takes 44.1/48 kHz audio and has mel bands up to 20 kHz. The shipped
# weights keep using LogMel; nothing trained uses this yet.
FULL_SAMPLE_RATE = 44_100
FULL_N_FFT = 2048  # 46 ms window, 21.5 Hz bins: every one of the 128 bands gets at least two bins
FULL_HOP = 512  # 11.6 ms
FULL_N_MELS = 128
FULL_FMIN = 20.0
FULL_FMAX = 20_000.0
MIN_FULL_BAND_RATE = 40_000  # below this the top bands are empty (the input cannot carry them)


class FullBandLogMel(LogMel):
    """(B, samples) at ``sample_rate`` (44.1 or 48 kHz) -> (B, 1, 128, frames) log-mel, 20 Hz-20 kHz.

    Input at another rate is resampled to 44.1 kHz first (the same differentiable FFT resampler), so
    44.1 and 48 kHz recordings of one sound give the same frames; the waveform is scaled to unit RMS,
    as in ``LogMel``. ``strict=True`` refuses input under 40 kHz, whose top bands would be empty."""

    def __init__(self, n_mels: int = FULL_N_MELS, n_fft: int = FULL_N_FFT, hop: int = FULL_HOP,
                 fmin: float = FULL_FMIN, fmax: float = FULL_FMAX, strict: bool = False):
        super().__init__(n_mels=n_mels, n_fft=n_fft, hop=hop, sample_rate=FULL_SAMPLE_RATE)
        if not 0 < fmin < fmax <= FULL_SAMPLE_RATE / 2:
            raise ValueError(f"mel range {fmin}-{fmax} Hz must lie within 0-{FULL_SAMPLE_RATE // 2} Hz")
        self.fmin, self.fmax, self.strict = float(fmin), float(fmax), strict
        self.register_buffer("fb", mel_filterbank(n_mels, n_fft, FULL_SAMPLE_RATE, fmin, fmax), persistent=False)

    def forward(self, x: torch.Tensor, sample_rate: int = FULL_SAMPLE_RATE) -> torch.Tensor:
        if self.strict and int(sample_rate) < MIN_FULL_BAND_RATE:
            raise ValueError(f"the full-band front end needs audio at 44.1 or 48 kHz; got {sample_rate} Hz, "
                             f"which cannot carry the bands above {int(sample_rate) // 2} Hz")
        return super().forward(resample(x, int(sample_rate), FULL_SAMPLE_RATE))

    def frames(self, samples: int, sample_rate: int = FULL_SAMPLE_RATE) -> int:
        n = int(round(samples * FULL_SAMPLE_RATE / sample_rate)) if sample_rate != FULL_SAMPLE_RATE else samples
        return n // self.hop + 1


__all__ = ["FULL_SAMPLE_RATE", "SAMPLE_RATE", "FullBandLogMel", "LogMel", "mel_filterbank", "resample"]
