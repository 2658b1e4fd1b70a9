"""Small stand-ins for the heavy models, for fast tests. They follow the real interfaces exactly."""

from __future__ import annotations

import hashlib

import torch


class TinyEmbedder:
    """Deterministic toy text-audio embedder: band energies (audio) and hashed words (text),
    each through a fixed random projection. Differentiable with respect to the audio."""

    name = "tiny"
    sample_rate = 16_000

    def __init__(self, dim: int = 32, bands: int = 24, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.dim = dim
        self.bands = bands
        self.device = torch.device("cpu")
        self.audio_proj = torch.randn(bands, dim, generator=g)
        self.text_proj = torch.randn(256, dim, generator=g)

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        rows = []
        for t in texts:
            v = torch.zeros(256)
            for w in t.lower().split():
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % 256] += 1.0
            rows.append(v)
        e = torch.stack(rows) @ self.text_proj
        return torch.nn.functional.normalize(e, dim=-1)

    def embed_audio(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        x = audio if audio.dim() == 2 else audio[None]
        spec = torch.stft(x.float(), 512, 128, window=torch.hann_window(512), return_complex=True).abs()
        edges = torch.linspace(0, spec.shape[1], self.bands + 1).long()
        energies = torch.stack([spec[:, a:b].pow(2).mean(dim=(1, 2)) for a, b in zip(edges[:-1], edges[1:])], dim=1)
        e = torch.log(energies + 1e-6) @ self.audio_proj
        return torch.nn.functional.normalize(e, dim=-1)
