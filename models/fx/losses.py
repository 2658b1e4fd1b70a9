"""Text2FX's two losses on embedder outputs.

cosine:      1 - cos(E_a(fx(x)), E_t("this sound is {prompt}"))
directional: 1 - cos(normalise(E_a(fx(x)) - E_a(x)), normalise(E_t(target) - E_t(anchor)))
             anchor defaults to "this sound is not {prompt}".
both:        their sum (the default).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..embedders.base import Embedder

LOSSES = ("cosine", "directional", "both")


def target_text(prompt: str) -> str:
    return f"this sound is {prompt.strip()}"


def default_anchor(prompt: str) -> str:
    return f"this sound is not {prompt.strip()}"


@dataclass
class TextTargets:
    target: torch.Tensor  # (D,)
    direction: torch.Tensor  # (D,) normalised E_t(target) - E_t(anchor)
    source: torch.Tensor  # (D,) E_a(x) of the unprocessed input

    @classmethod
    def build(cls, embedder: Embedder, prompt: str, anchor: str | None, source_audio: torch.Tensor, sample_rate: int) -> "TextTargets":
        with torch.no_grad():
            t = embedder.embed_text([target_text(prompt), anchor if anchor else default_anchor(prompt)]).float()
            src = embedder.embed_audio(source_audio[None].float(), sample_rate)[0].float()
        return cls(target=t[0], direction=F.normalize(t[0] - t[1], dim=-1), source=src)


def text_similarity(e: torch.Tensor, targets: TextTargets) -> torch.Tensor:
    return (e * targets.target).sum(-1)


DIRECTION_EPS = 1e-3  # an embedding change shorter than this counts as (nearly) no direction at all


def directional_similarity(e: torch.Tensor, targets: TextTargets) -> torch.Tensor:
    """cos(E_a(fx(x)) - E_a(x), direction); changes shorter than DIRECTION_EPS are scaled down towards 0,
    so float rounding of an unchanged sound does not count as a random direction."""
    return (F.normalize(e - targets.source, dim=-1, eps=DIRECTION_EPS) * targets.direction).sum(-1)


def fx_loss(e: torch.Tensor, targets: TextTargets, kind: str) -> torch.Tensor:
    """(B, D) audio embeddings -> (B,) losses."""
    if kind == "cosine":
        return 1 - text_similarity(e, targets)
    if kind == "directional":
        return 1 - directional_similarity(e, targets)
    if kind == "both":
        return (1 - text_similarity(e, targets)) + (1 - directional_similarity(e, targets))
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
