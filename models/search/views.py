"""A second view of how well a sound fits its prompt, one the search does not optimise, and the gap
between the two (how much a search exploits its own scorer).

The search maximises the embedder's cosine between the sound and the prompt. The held-out view here
is the LSTMABAR model's archetype head (sine, square, sawtooth, triangle, noise), read on both sides:
the cosine between the archetype mix it predicts for the sound and for the prompt. The head was
trained on a separate objective (archetype weights, not the contrastive alignment), and no search
term uses it, so a sound that pleases only the embedder's cosine gains little on it.

``exploitation`` standardises both views against a reference population (the search's first
generation: random patches for a fresh search, the neighbourhood of the start sound for a
refinement) and reports, in standard deviations of that population, the gain on each view and the
gap between them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from pydantic import BaseModel, Field

from ..embedders.base import Embedder


class ViewReport(BaseModel):
    held_out_view: str = Field(description="What the held-out view is.")
    optimised_score: float = Field(description="The searched view (embedder cosine) of the best result.")
    held_out_score: float = Field(description="The held-out view of the best result.")
    optimised_gain_sd: float = Field(description="Best result's cosine above the reference population's mean, in its standard deviations.")
    held_out_gain_sd: float = Field(description="The same for the held-out view.")
    gap_sd: float = Field(description="optimised_gain_sd - held_out_gain_sd: large values mean the search pleased the embedder more than the held-out view agrees.")
    reference: str = Field(description="The population both views are standardised against.")


@runtime_checkable
class _WithModel(Protocol):
    """An embedder that exposes its torch model (lstmabar's, whose ``archetypes`` head is the held-out view)."""

    model: Any


def archetype_agreement(embedder: Embedder, text: torch.Tensor, audio_emb: torch.Tensor) -> np.ndarray | None:
    """Cosine between the archetype mixes of each sound and of the text (None when the embedder has no archetype head)."""
    model = embedder.model if isinstance(embedder, _WithModel) else None
    if model is None or not hasattr(model, "archetypes"):
        return None
    with torch.no_grad():
        dev = next(model.parameters()).device
        pa = model.archetypes(torch.nn.functional.normalize(audio_emb.float().to(dev), dim=-1)).cpu()
        pt = model.archetypes(torch.nn.functional.normalize(text.float().reshape(1, -1).to(dev), dim=-1)).cpu()
    return torch.nn.functional.cosine_similarity(pa, pt.expand_as(pa), dim=-1).numpy().astype(np.float64)


def exploitation(opt_ref: np.ndarray, held_ref: np.ndarray, opt: float, held: float, reference: str, view: str) -> ViewReport | None:
    opt_ref, held_ref = np.asarray(opt_ref, float), np.asarray(held_ref, float)
    ok = np.isfinite(opt_ref) & np.isfinite(held_ref) & (opt_ref > -1.0)
    if ok.sum() < 4:
        return None
    so, sh = float(opt_ref[ok].std()), float(held_ref[ok].std())
    if so < 1e-9 or sh < 1e-9:
        return None
    go = (opt - float(opt_ref[ok].mean())) / so
    gh = (held - float(held_ref[ok].mean())) / sh
    return ViewReport(held_out_view=view, optimised_score=round(opt, 4), held_out_score=round(held, 4), optimised_gain_sd=round(go, 2),
                      held_out_gain_sd=round(gh, 2), gap_sd=round(go - gh, 2), reference=reference)
