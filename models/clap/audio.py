"""CLAP's audio front end in torch (differentiable), matching transformers' ``ClapFeatureExtractor``.

Pipeline for one mono 48 kHz clip (``FrontEnd.features``):

1. Length to exactly 10 s (480 000 samples), as the model was trained:
   * shorter clips are repeat-padded like ``ClapFeatureExtractor(padding="repeatpad")``: the clip is
     tiled ``floor(480000 / n)`` times and the rest is filled with zeros;
   * longer clips, unfused models: a **centre crop** of 10 s (the feature extractor and laion-clap take a
     *random* crop; we take the centre so embeddings are deterministic);
   * longer clips, fused models (``enable_fusion``): the whole clip's mel is squeezed to 1001 frames
     (bilinear, as laion-clap) and stacked with three 1001-frame crops taken at the *midpoints* of the
     front, middle and back thirds of the valid start positions (laion-clap picks them at random).
2. Log-mel: periodic Hann window 1024, hop 480, centred frames with reflect padding, power spectrum,
   64 mel bands 50-14000 Hz (Slaney-normalised Slaney-scale filters for unfused models, unnormalised
   HTK filters for fused models, exactly as the feature extractor chooses), ``10 log10(max(x, 1e-10))``.
   No int16 quantisation: laion-clap's ``int16_to_float32(float32_to_int16(x))`` round trip is only
   applied when ``quantize=True`` is asked for.

The result has the feature extractor's layout ``(B, C, 1001, 64)`` with C = 1 (unfused) or 4 (fused).
Everything is plain torch arithmetic, so gradients flow from the embedding back to the waveform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

CLAP_SAMPLE_RATE = 48_000


@dataclass(frozen=True)
class FrontEndSettings:
    sample_rate: int = CLAP_SAMPLE_RATE
    max_length_s: float = 10.0
    n_fft: int = 1024
    hop_length: int = 480
    n_mels: int = 64
    f_min: float = 50.0
    f_max: float = 14_000.0
    fusion: bool = False

    @property
    def max_samples(self) -> int:
        return int(round(self.max_length_s * self.sample_rate))

    @property
    def frames(self) -> int:
        return self.max_samples // self.hop_length + 1

    @classmethod
    def from_feature_extractor_dict(cls, d: dict, *, fusion: bool) -> "FrontEndSettings":
        return cls(
            sample_rate=int(d.get("sampling_rate", CLAP_SAMPLE_RATE)),
            max_length_s=float(d.get("max_length_s", 10)),
            n_fft=int(d.get("fft_window_size", 1024)),
            hop_length=int(d.get("hop_length", 480)),
            n_mels=int(d.get("feature_size", 64)),
            f_min=float(d.get("frequency_min", 50.0)),
            f_max=float(d.get("frequency_max", 14_000.0)),
            fusion=fusion,
        )

    def feature_extractor_kwargs(self) -> dict:
        """Arguments that give transformers' ClapFeatureExtractor the same settings (used as the reference)."""
        return dict(
            feature_size=self.n_mels,
            sampling_rate=self.sample_rate,
            hop_length=self.hop_length,
            max_length_s=int(self.max_length_s),
            fft_window_size=self.n_fft,
            frequency_min=self.f_min,
            frequency_max=self.f_max,
            truncation="fusion" if self.fusion else "rand_trunc",
            padding="repeatpad",
        )


@lru_cache(maxsize=8)
def _mel_filters_np(n_fft: int, n_mels: int, f_min: float, f_max: float, sr: int, htk: bool) -> np.ndarray:
    from lstmabar.models.transformers_compat import prepare_transformers

    prepare_transformers()
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=f_min,
        max_frequency=f_max,
        sampling_rate=sr,
        norm=None if htk else "slaney",
        mel_scale="htk" if htk else "slaney",
    )  # (freq_bins, n_mels)


def log_mel(audio: torch.Tensor, s: FrontEndSettings) -> torch.Tensor:
    """(B, samples) -> (B, frames, n_mels) log-mel in dB, differentiable."""
    dtype = audio.dtype if audio.dtype in (torch.float32, torch.float64) else torch.float32
    audio = audio.to(dtype)
    window = torch.hann_window(s.n_fft, periodic=True, dtype=dtype, device=audio.device)
    spec = torch.stft(
        audio, n_fft=s.n_fft, hop_length=s.hop_length, win_length=s.n_fft, window=window,
        center=True, pad_mode="reflect", onesided=True, return_complex=True,
    )  # (B, freq, frames)
    power = spec.real.square() + spec.imag.square()  # no sqrt: finite gradients at silence
    mel_fb = torch.as_tensor(
        _mel_filters_np(s.n_fft, s.n_mels, s.f_min, s.f_max, s.sample_rate, s.fusion), dtype=dtype, device=audio.device
    )
    mel = torch.einsum("bft,fm->btm", power, mel_fb)
    return 10.0 * torch.log10(torch.clamp(mel, min=1e-10))


def fit_length(audio: torch.Tensor, max_samples: int) -> torch.Tensor:
    """Repeat-pad (tile floor(max/n) times, then zeros) or centre-crop each row to ``max_samples``."""
    n = audio.shape[-1]
    if n == 0:
        raise ValueError("empty audio")
    if n > max_samples:
        start = (n - max_samples) // 2
        return audio[..., start : start + max_samples]
    if n < max_samples:
        reps = max_samples // n
        audio = audio.repeat(*([1] * (audio.dim() - 1)), reps)
        audio = F.pad(audio, (0, max_samples - audio.shape[-1]))
    return audio


def _fusion_features(audio: torch.Tensor, s: FrontEndSettings) -> tuple[torch.Tensor, bool]:
    """One clip (samples,) -> ((4, frames, mels), is_longer) for fused models."""
    max_samples, chunk = s.max_samples, s.frames
    if audio.shape[-1] > max_samples:
        mel = log_mel(audio[None], s)[0]  # (total_frames, mels)
        total = mel.shape[0]
        if total == chunk:
            return mel[None].expand(4, -1, -1), False
        starts = np.array_split(np.arange(0, total - chunk + 1), 3)
        picks = [int(part[len(part) // 2]) if len(part) else 0 for part in starts]
        crops = [mel[p : p + chunk] for p in picks]
        shrink = F.interpolate(mel[None, None], size=[chunk, s.n_mels], mode="bilinear", align_corners=False)[0, 0]
        return torch.stack([shrink, *crops], 0), True
    mel = log_mel(fit_length(audio, max_samples)[None], s)[0]
    return mel[None].expand(4, -1, -1), False


def features(audio: torch.Tensor, s: FrontEndSettings, *, quantize: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, samples) at ``s.sample_rate`` -> (input_features (B, C, frames, mels), is_longer (B, 1) bool)."""
    if audio.dim() == 1:
        audio = audio[None]
    if quantize:  # laion-clap's int16 round trip, straight-through for gradients
        q = torch.round(torch.clamp(audio, -1.0, 1.0) * 32767.0) / 32767.0
        audio = audio + (q - audio).detach()
    if s.fusion:
        feats, longer = zip(*(_fusion_features(row, s) for row in audio))
        return torch.stack(feats, 0), torch.tensor([[x] for x in longer], dtype=torch.bool, device=audio.device)
    mel = log_mel(fit_length(audio, s.max_samples), s)[:, None]  # (B, 1, frames, mels)
    return mel, torch.zeros(audio.shape[0], 1, dtype=torch.bool, device=audio.device)


@lru_cache(maxsize=16)
def _sinc_kernel(orig: int, new: int, width_zeros: int, rolloff: float) -> tuple[torch.Tensor, int]:
    base = min(orig, new) * rolloff
    width = math.ceil(width_zeros * orig / base)
    idx = torch.arange(-width, width + orig, dtype=torch.float64)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=torch.float64)[:, None, None] / new + idx
    t = (t * base).clamp(-width_zeros, width_zeros)
    window = torch.cos(t * math.pi / width_zeros / 2) ** 2
    t = t * math.pi
    kernel = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / torch.where(t == 0, torch.ones_like(t), t))
    return (kernel * window * (base / orig)).to(torch.float32), width


def resample(audio: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited (Hann-windowed sinc) resampling of (B, samples) in torch; differentiable."""
    if orig_sr == new_sr:
        return audio
    g = math.gcd(int(orig_sr), int(new_sr))
    orig, new = int(orig_sr) // g, int(new_sr) // g
    kernel, width = _sinc_kernel(orig, new, 6, 0.99)
    kernel = kernel.to(device=audio.device, dtype=audio.dtype)
    b, n = audio.shape
    x = F.pad(audio[:, None], (width, width + orig))
    y = F.conv1d(x, kernel, stride=orig)  # (B, new, frames)
    y = y.transpose(1, 2).reshape(b, -1)
    return y[:, : math.ceil(new * n / orig)]
