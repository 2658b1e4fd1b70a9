"""What the optimize_fx benchmarks share: the real recordings, the Audealize band centres and the
embedder they score with (labelled with its weights' hash, so a report says which model it measured)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf

from lstmabar.models.fx.optimize import loudest_excerpt

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
AUDIO = SHARED / "audio"
DATA = SHARED / "data"
BANDS = np.array([20, 50, 83, 120, 161, 208, 259, 318, 383, 455, 537, 628, 729, 843, 971, 1114, 1273, 1452, 1652, 1875, 2126, 2406,
                  2719, 3070, 3462, 3901, 4392, 4941, 5556, 6244, 7014, 7875, 8839, 9917, 11124, 12474, 13984, 15675, 17566, 19682], float)
SOURCES = {
    "trumpet": "sorohanro_-_solo-trumpet-06.ogg",
    "speech": "198-209-0000.ogg",
    "jazz": "Kevin_MacLeod_-_Vibe_Ace.ogg",
    "robin": "456440__inspectorj__bird-whistling-robin-single-13.ogg",
}


def load_labelled_embedder(name: str):
    """(embedder, label); ``tiny`` is the test suite's fake, said so in the label."""
    if name == "tiny":
        from tests.fakes import TinyEmbedder

        return TinyEmbedder(), "tiny (fake: band energies and hashed words; NOT a real text-audio model)"
    from lstmabar.models.embedders import load_embedder

    label = name
    if name == "lstmabar":
        from lstmabar.models.lstmabar.embedder import WEIGHTS

        label += f" (weights/lstmabar.pt sha256 {hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()[:12]})"
    return load_embedder(name), label


def load_source(name: str, seconds: float) -> tuple[np.ndarray, int]:
    """Mono excerpt (the loudest ``seconds``) of a shared recording, or generated pink noise."""
    if name == "pink_noise":
        sr = 44100
        n = int(seconds * sr)
        rng = np.random.default_rng(0)
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / sr)
        spec[1:] /= np.sqrt(f[1:])
        spec[0] = 0
        x = np.fft.irfft(spec, n)
        return (0.25 * x / np.abs(x).max()).astype(np.float32), sr
    x, sr = sf.read(AUDIO / SOURCES[name], dtype="float32", always_2d=True)
    mono = x.mean(axis=1)
    a, b = loudest_excerpt(mono, sr, seconds)
    return mono[a:b], sr
