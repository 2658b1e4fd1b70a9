"""The interface every text-audio embedder offers to the tools.

Vectors are L2-normalised so that a dot product is a cosine similarity. ``embed_audio`` keeps the
autograd graph when gradients are enabled, so optimisers can differentiate through it (Text2FX).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int
    sample_rate: int  # the rate embed_audio works at internally; other rates are resampled
    device: torch.device

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """(N,) texts -> (N, dim) float32, L2-normalised."""
        ...

    def embed_audio(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """(B, samples) mono float audio -> (B, dim) float32, L2-normalised."""
        ...


class EmbedderUnavailable(RuntimeError):
    """The requested embedder cannot be loaded here; the message says what to install or put where."""
