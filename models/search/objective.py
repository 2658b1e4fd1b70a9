"""CTAG's fitness: cosine(embed_audio(render(params)), embed_text(prompt)), a population per batch.

Each rendered sound has its sub-audio content (< 15-30 Hz) removed and is peak-normalised before
embedding (the same processing the saved file gets); a silent render, or one that is almost all
sub-audio, scores -1 so the search never returns silence or inaudible rumble. The objective keeps its own timers
(synth render, embedding) so a caller can split wall time into render / embedding / optimiser.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from ..embedders.base import Embedder

RenderFn = Callable[[torch.Tensor], torch.Tensor]  # (B, 78) in [0, 1] -> (B, samples)

SILENCE_PEAK = 1e-4
TARGET_PEAK = 0.9


def remove_subsonic(x: torch.Tensor, sample_rate: int, lo: float = 15.0, hi: float = 30.0) -> torch.Tensor:
    """Zero-phase high-pass: nothing below ``lo`` Hz, a raised-cosine ramp to ``hi`` Hz. The synth can
    put most of its output below hearing (MIDI 0 is 8 Hz, LFO-rate amplitude swings, DC); without this
    the search learns to please the embedder with inaudible rumble."""
    n = x.shape[-1]
    spec = torch.fft.rfft(x, dim=-1)
    f = torch.fft.rfftfreq(n, 1.0 / sample_rate)
    m = int((f < hi).sum())  # the gain is exactly 1 from ``hi`` up: scale only the bins below
    ramp = ((f[:m] - lo) / (hi - lo)).clamp(0.0, 1.0)
    spec[..., :m] *= (0.5 - 0.5 * torch.cos(torch.pi * ramp)).to(spec.device)
    return torch.fft.irfft(spec, n=n, dim=-1)


def normalize_peak(
    audio: torch.Tensor, target: float = TARGET_PEAK, *, sample_rate: int | None = None, min_audible: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale each row to ``target`` peak; returns (audio, silent mask). Non-finite samples become 0.
    With ``sample_rate``, sub-audio content is removed first, and a row whose audible part peaks
    below ``min_audible`` of its raw peak (-40 dB) counts as silent."""
    x = torch.nan_to_num(audio.float(), nan=0.0, posinf=0.0, neginf=0.0)
    raw_peak = x.abs().amax(dim=-1)
    if sample_rate is not None:
        x = remove_subsonic(x, sample_rate)
    peak = x.abs().amax(dim=-1, keepdim=True)
    silent = peak.squeeze(-1) < SILENCE_PEAK
    if sample_rate is not None:
        silent = silent | (peak.squeeze(-1) < min_audible * raw_peak)
    return torch.where(peak >= SILENCE_PEAK, x * (target / peak.clamp(min=SILENCE_PEAK)), x), silent


class TextAudioObjective:
    """Callable for ``run_search``: params (B, D) -> (cosine scores (B,), audio embeddings (B, dim))."""

    def __init__(
        self,
        render: RenderFn,
        embedder: Embedder,
        prompt: str | list[str],
        sample_rate: int,
        *,
        chunk: int = 0,
        audible_only: bool = True,
        anchor: str | None = None,
        anchor_weight: float = 0.0,
    ) -> None:
        self.render = render
        self.audible_only = audible_only
        self.embedder = embedder
        self.sample_rate = int(sample_rate)
        self.chunk = int(chunk)
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        with torch.no_grad():
            t = embedder.embed_text(prompts).float()
        t = torch.nn.functional.normalize(t, dim=-1)
        # Several prompts: the mean direction (used for "blend" style objectives).
        self.text = torch.nn.functional.normalize(t.mean(dim=0), dim=-1)
        # Optional anchor: fitness = cos(audio, prompt) - w * cos(audio, anchor). With a generic
        # anchor ("a sound") this penalises sounds the embedder finds close to every prompt.
        self.anchor_weight = float(anchor_weight)
        self.anchor = None
        if anchor and self.anchor_weight:
            with torch.no_grad():
                self.anchor = torch.nn.functional.normalize(embedder.embed_text([anchor]).float()[0], dim=-1)
        self.render_seconds = 0.0
        self.embed_seconds = 0.0
        self.calls = 0
        self.last_audio: torch.Tensor | None = None  # the last batch as scored (sub-audio removed, peak-normalised)
        self.last_silent: torch.Tensor | None = None
        self.first_batch: tuple[torch.Tensor, torch.Tensor] | None = None  # (scores, embeddings) of the first call: a search's starting population

    def embed(self, audio: torch.Tensor) -> torch.Tensor:
        dev = self.embedder.device
        if self.chunk and audio.shape[0] > self.chunk:
            parts = [self.embedder.embed_audio(a.to(dev), self.sample_rate) for a in audio.split(self.chunk)]
            return torch.cat(parts).float().cpu()
        return self.embedder.embed_audio(audio.to(dev), self.sample_rate).float().cpu()

    def render_normalized(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            if self.chunk and params.shape[0] > self.chunk:
                raw = torch.cat([self.render(p) for p in params.split(self.chunk)])
            else:
                raw = self.render(params)
            return normalize_peak(raw, sample_rate=self.sample_rate if self.audible_only else None)

    def __call__(self, params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.calls += 1
        t0 = time.perf_counter()
        audio, silent = self.render_normalized(params)
        self.last_audio, self.last_silent = audio, silent
        t1 = time.perf_counter()
        with torch.no_grad():
            emb = torch.nn.functional.normalize(self.embed(audio), dim=-1)
        t2 = time.perf_counter()
        self.render_seconds += t1 - t0
        self.embed_seconds += t2 - t1
        score = emb @ self.text.to(emb.device)
        if self.anchor is not None:
            score = score - self.anchor_weight * (emb @ self.anchor.to(emb.device))
        score = torch.where(silent | ~torch.isfinite(score), torch.full_like(score, -1.0), score)
        if self.first_batch is None:
            self.first_batch = (score.detach().clone(), emb.detach().clone())
        return score, emb
