"""CTAG's fitness: cosine(embed_audio(render(params)), embed_text(prompt)), a population per batch.

Each rendered sound is peak-normalised before embedding (the same level the saved file gets), and
a silent render scores -1 so the search never returns silence. The objective keeps its own timers
(synth render, embedding) so a caller can split wall time into render / embedding / optimiser.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

RenderFn = Callable[[torch.Tensor], torch.Tensor]  # (B, 78) in [0, 1] -> (B, samples)

SILENCE_PEAK = 1e-4
TARGET_PEAK = 0.9


def normalize_peak(audio: torch.Tensor, target: float = TARGET_PEAK) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale each row to ``target`` peak; returns (audio, silent mask). Non-finite samples become 0."""
    x = torch.nan_to_num(audio.float(), nan=0.0, posinf=0.0, neginf=0.0)
    peak = x.abs().amax(dim=-1, keepdim=True)
    silent = peak.squeeze(-1) < SILENCE_PEAK
    return torch.where(peak >= SILENCE_PEAK, x * (target / peak.clamp(min=SILENCE_PEAK)), x), silent


class TextAudioObjective:
    """Callable for ``run_search``: params (B, D) -> (cosine scores (B,), audio embeddings (B, dim))."""

    def __init__(self, render: RenderFn, embedder, prompt: str | list[str], sample_rate: int, *, chunk: int = 0) -> None:
        self.render = render
        self.embedder = embedder
        self.sample_rate = int(sample_rate)
        self.chunk = int(chunk)
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        with torch.no_grad():
            t = embedder.embed_text(prompts).float()
        t = torch.nn.functional.normalize(t, dim=-1)
        # Several prompts: the mean direction (used for "blend" style objectives).
        self.text = torch.nn.functional.normalize(t.mean(dim=0), dim=-1)
        self.render_seconds = 0.0
        self.embed_seconds = 0.0
        self.calls = 0

    def embed(self, audio: torch.Tensor) -> torch.Tensor:
        dev = getattr(self.embedder, "device", torch.device("cpu"))
        if self.chunk and audio.shape[0] > self.chunk:
            parts = [self.embedder.embed_audio(a.to(dev), self.sample_rate) for a in audio.split(self.chunk)]
            return torch.cat(parts).float().cpu()
        return self.embedder.embed_audio(audio.to(dev), self.sample_rate).float().cpu()

    def render_normalized(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            if self.chunk and params.shape[0] > self.chunk:
                return normalize_peak(torch.cat([self.render(p) for p in params.split(self.chunk)]))
            return normalize_peak(self.render(params))

    def __call__(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        t0 = time.perf_counter()
        audio, silent = self.render_normalized(params)
        t1 = time.perf_counter()
        with torch.no_grad():
            emb = torch.nn.functional.normalize(self.embed(audio), dim=-1)
        t2 = time.perf_counter()
        self.render_seconds += t1 - t0
        self.embed_seconds += t2 - t1
        score = emb @ self.text.to(emb.device)
        score = torch.where(silent | ~torch.isfinite(score), torch.full_like(score, -1.0), score)
        return score, emb
