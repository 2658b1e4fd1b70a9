"""The matcher's front end: a loudness-normalised log-mel spectrogram in torch (batched, differentiable).

All matching models see audio at ``FEATURE_SR`` (16 kHz), ``SECONDS`` long (shorter sounds are
zero-padded, longer ones cut), as 64 mel bands x 126 frames (n_fft 1024, hop 256). Each spectrogram
is referenced to its own peak (so a quiet and a loud copy of a sound look the same), floored at
-80 dB and scaled to about [-1, 1].
"""

from __future__ import annotations

import functools

import numpy as np
import torch

FEATURE_SR = 16_000
SECONDS = 2.0
N_FFT = 1024
HOP = 256
N_MELS = 64
FMIN = 30.0
TOP_DB = 80.0
NUM_SAMPLES = int(FEATURE_SR * SECONDS)
NUM_FRAMES = 1 + NUM_SAMPLES // HOP  # 126


@functools.lru_cache(maxsize=4)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float) -> torch.Tensor:
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=sr / 2).astype(np.float32))


@functools.lru_cache(maxsize=4)
def _window(n: int) -> torch.Tensor:
    return torch.hann_window(n)


def fit_length(audio: torch.Tensor, num_samples: int = NUM_SAMPLES) -> torch.Tensor:
    """(B, T) -> (B, num_samples): zero-pad or cut."""
    t = audio.shape[-1]
    if t >= num_samples:
        return audio[..., :num_samples]
    return torch.nn.functional.pad(audio, (0, num_samples - t))


def log_mel(audio: torch.Tensor) -> torch.Tensor:
    """audio (B, T) at FEATURE_SR -> features (B, 1, N_MELS, NUM_FRAMES)."""
    x = fit_length(audio.float())
    spec = torch.stft(x, N_FFT, HOP, window=_window(N_FFT).to(x.device), return_complex=True).abs().pow(2)
    mel = torch.matmul(_mel_basis(FEATURE_SR, N_FFT, N_MELS, FMIN).to(x.device), spec)
    db = 10.0 * torch.log10(mel.clamp_min(1e-10))
    peak = db.amax(dim=(1, 2), keepdim=True)
    db = torch.maximum(db - peak, torch.full_like(db, -TOP_DB))
    return ((db + TOP_DB / 2) / (TOP_DB / 2))[:, None]


def to_feature_rate(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample a mono numpy signal to FEATURE_SR."""
    if sample_rate == FEATURE_SR:
        return np.asarray(mono, dtype=np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sample_rate), FEATURE_SR)
    return resample_poly(np.asarray(mono, dtype=np.float64), FEATURE_SR // g, int(sample_rate) // g).astype(np.float32)
