"""Versioned reward files and a registry that always serves the newest one.

Files, in ``<output_dir>/reward/``: ``reward-v{N}.pt`` (weights and settings) and ``reward-v{N}.json``
(the manifest: the data snapshot it came from, held-out metrics, training settings). The JSON is
written first and the .pt last (each via a temporary name and an atomic rename), so a version exists
once its .pt does. ``RewardRegistry.latest()`` lists the folder on every call (cheap) and loads a
file only when the newest version or its mtime changed: a server picks up a model trained by
``lstmabar train reward`` in another process without a restart.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import torch

from ..embedders.base import Embedder
from .features import PARAM_DIM, PATCH_DIM, patch_params
from .model import RewardNet

log = logging.getLogger("lstmabar")

FORMAT = "lstmabar-reward/1"
_NAME = re.compile(r"^reward-v(\d+)\.pt$")


def reward_dir(config) -> Path:
    return Path(config.output_dir) / "reward"


def versions(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name)))


def version_paths(folder: Path, n: int) -> tuple[Path, Path]:
    return folder / f"reward-v{n}.pt", folder / f"reward-v{n}.json"


class RewardModel:
    """A trained reward model. ``score`` is standardised over the sounds it was trained on (mean 0,
    std 1), so a ``feedback_weight`` of w adds w per standard deviation of predicted preference."""

    def __init__(self, payload: dict[str, Any], manifest: dict[str, Any], path: Path) -> None:
        self.number = int(payload["version"])
        self.version = f"v{self.number}"
        self.embedder = str(payload["embedder"])
        self.emb_dim = int(payload["emb_dim"])
        self.path = path
        self.manifest = manifest
        self.score_mean = float(payload.get("score_mean", 0.0))
        self.score_std = float(payload.get("score_std", 1.0)) or 1.0
        self.net = RewardNet(self.emb_dim, int(payload.get("param_dim", PARAM_DIM)), int(payload.get("hidden", 32)))
        self.net.load_state_dict(payload["state_dict"])
        self.net.eval().requires_grad_(False)  # a loaded model is only scored; gradients flow to its inputs

    @property
    def label(self) -> str:
        return f"reward {self.version} ({self.embedder}, {self.manifest.get('feedback_count', '?')} feedback)"

    def compatible(self, embedder: Embedder) -> bool:
        return embedder.name == self.embedder and int(embedder.dim) == self.emb_dim

    def raw(
        self, audio_embeddings: torch.Tensor, text_embedding: torch.Tensor, params: torch.Tensor | None, *, grad: bool = False
    ) -> torch.Tensor:
        """``grad=True`` keeps the graph back to ``audio_embeddings`` (for gradient-based optimisers)."""
        a = audio_embeddings if grad else audio_embeddings.detach()
        a = torch.nn.functional.normalize(a.float().cpu(), dim=-1)
        t = text_embedding.detach().float().cpu()
        if t.dim() == 1:
            t = t[None]
        t = t.expand(a.shape[0], -1) if t.shape[0] == 1 else t
        if params is not None and params.shape[-1] == PATCH_DIM:
            p = patch_params(params.detach().cpu())
        elif params is not None and params.shape[-1] == PARAM_DIM:
            p = params.detach().float().cpu()
        else:  # unknown or no parameters: the audio and prompt carry the prediction
            p = torch.zeros(a.shape[0], PARAM_DIM)
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            return self.net(a, t, p)

    def score(
        self, audio_embeddings: torch.Tensor, text_embedding: torch.Tensor, params: torch.Tensor | None = None, *, grad: bool = False
    ) -> torch.Tensor:
        """(B,) standardised reward. ``params``: (B, 78) normalised Voice patches, (B, PARAM_DIM)
        parameter features (``features.params_features`` for e.g. FX settings), or None / any other
        shape (parameters unknown: zeros)."""
        return (self.raw(audio_embeddings, text_embedding, params, grad=grad) - self.score_mean) / self.score_std

    def expected_rating(self, audio_embeddings, text_embedding, params=None) -> torch.Tensor:
        with torch.no_grad():
            return self.net.expected_rating(self.raw(audio_embeddings, text_embedding, params))


def load_version(folder: Path, n: int) -> RewardModel:
    pt, js = version_paths(folder, n)
    payload = torch.load(pt, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{pt} is not a {FORMAT} file")
    manifest = json.loads(js.read_text()) if js.exists() else {}
    return RewardModel(payload, manifest, pt)


class RewardRegistry:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._model: RewardModel | None = None

    def latest(self) -> RewardModel | None:
        vs = versions(self.folder)
        if not vs:
            return None
        n = vs[-1]
        pt, _ = version_paths(self.folder, n)
        try:
            key = (n, pt.stat().st_mtime_ns)
        except FileNotFoundError:
            return self._model
        with self._lock:
            if key != self._key:
                try:
                    self._model = load_version(self.folder, n)
                except Exception as exc:  # a damaged file must not break the tools: keep the last good one
                    log.warning("could not load reward model %s (%s); keeping %s", pt.name, exc,
                                self._model.version if self._model else "none")
                self._key = key
            return self._model
