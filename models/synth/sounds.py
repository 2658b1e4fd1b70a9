"""What the tools that make and reuse Voice sounds share: the output rate, the peak-normalised final
render, the Voice patch stored with a library sound, and the cosine of rendered sounds to a text."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

from lstmabar.models.search.objective import normalize_peak

from .params import NUM_PARAMS, PARAM_INDEX
from .patch import Patch
from .voice import Voice

OUTPUT_RATE = 48_000
CONTROL_RATE = 480


def cached_voice(cache: Any, sample_rate: int, seconds: float) -> Voice:
    """The Voice for this render rate and length from ``cache`` (``get(key, factory)``, e.g. a ToolContext's models)."""
    key = f"synth:voice:{int(sample_rate)}:{float(seconds):g}"
    factory: Callable[[], Voice] = lambda: Voice(sample_rate=int(sample_rate), control_rate=CONTROL_RATE, seconds=float(seconds))  # noqa: E731
    return cache.get(key, factory)


def stored_patch(extra: Mapping[str, Any] | None, params: Mapping[str, Any] | None) -> torch.Tensor | None:
    """The normalised (NUM_PARAMS,) patch stored with a library sound (its ``extra`` and ``params``), or None."""
    norm = (extra or {}).get("patch_normalized")
    if isinstance(norm, list) and len(norm) == NUM_PARAMS:
        return torch.tensor(norm, dtype=torch.float32).clamp(0, 1)
    if params and len(set(params) & set(PARAM_INDEX)) >= 70:
        try:
            return Patch.from_physical(params).normalized().float()
        except (KeyError, ValueError, TypeError):  # a stored patch that is not a complete, numeric Voice patch
            return None
    return None


def render_final(voice: Voice, params: torch.Tensor, seed: int) -> np.ndarray:
    """(B, NUM_PARAMS) or (NUM_PARAMS,) normalised patches -> (B, samples) float32, sub-audio removed and peak-normalised."""
    with torch.no_grad():
        audio, _ = normalize_peak(voice.render(params.reshape(-1, NUM_PARAMS).float(), seed=seed), sample_rate=int(getattr(voice, "sample_rate", OUTPUT_RATE)))
    return audio.cpu().numpy().astype(np.float32)


def score_audio(embedder: Any, text: torch.Tensor, audio: np.ndarray, sample_rate: int) -> list[float]:
    """Cosine of each row of ``audio`` (already peak-normalised) to the text vector; silent rows -1."""
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    with torch.no_grad():
        e = torch.nn.functional.normalize(embedder.embed_audio(x.to(embedder.device), sample_rate).float().cpu(), dim=-1)
    s = e @ text.cpu()
    silent = x.abs().amax(dim=-1) < 1e-4
    return torch.where(silent | ~torch.isfinite(s), torch.full_like(s, -1.0), s).tolist()
