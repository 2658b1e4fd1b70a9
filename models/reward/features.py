"""Features that exist for every library sound: the embedder's audio embedding, the prompt's text
embedding and a fixed-size parameter vector.

Parameter vector (``PARAM_DIM`` values): the 78 normalised Voice parameters when the sound has a
Voice patch (``extra["patch_normalized"]``), a flag saying whether it has one, and ``HASH_DIM``
buckets into which every other numeric parameter (e.g. FX settings, ``{"value": v, "unit": u}``) is
hashed by name as sign(v)*log1p(|v|). Audio embeddings are cached per embedder in
``<output_dir>/reward/features-<embedder>.pt`` so retraining does not re-embed old sounds.
"""

from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from lstmabar.library.records import SoundRecord
from lstmabar.models.embedders.base import Embedder
from lstmabar.models.synth.params import NUM_PARAMS

PATCH_DIM = NUM_PARAMS
HASH_DIM = 16
PARAM_DIM = PATCH_DIM + 1 + HASH_DIM
TARGET_PEAK = 0.9
MAX_SECONDS = 30.0  # longer sounds are judged from their first 30 s


def embedder_name(embedder: Embedder) -> str:
    return str(embedder.name)


def patch_vector(rec: SoundRecord) -> torch.Tensor | None:
    norm = (rec.extra or {}).get("patch_normalized")
    if isinstance(norm, list) and len(norm) == PATCH_DIM:
        return torch.tensor([float(v) for v in norm], dtype=torch.float32).clamp(0, 1)
    return None


def _bucket(name: str) -> tuple[int, float]:
    h = hashlib.md5(name.encode()).digest()
    return h[0] % HASH_DIM, (1.0 if h[1] % 2 else -1.0)


def _numbers(params: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, float]]:
    for k, v in (params or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if "value" in v and isinstance(v["value"], (int, float)) and not isinstance(v["value"], bool):
                yield key, float(v["value"])
            else:
                yield from _numbers(v, key + ".")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield key, float(v)


def param_vector(rec: SoundRecord) -> torch.Tensor:
    """The (PARAM_DIM,) parameter features of a stored sound."""
    return params_features(rec.params, rec.extra)


def params_features(params: dict[str, Any] | None, extra: dict[str, Any] | None = None) -> torch.Tensor:
    """(PARAM_DIM,) features from a parameter dict (physical values, e.g. an FX chain's settings) and
    the sound's ``extra`` (where a Voice patch is kept as ``patch_normalized``). Tools that search
    something other than the Voice (optimize_fx) build their candidates' features with this."""
    out = torch.zeros(PARAM_DIM)
    norm = (extra or {}).get("patch_normalized")
    if isinstance(norm, list) and len(norm) == PATCH_DIM:
        out[:PATCH_DIM] = torch.tensor([float(v) for v in norm], dtype=torch.float32).clamp(0, 1)
        out[PATCH_DIM] = 1.0
        return out
    for name, v in _numbers(params or {}):
        if not math.isfinite(v):
            continue
        b, sign = _bucket(name)
        out[PATCH_DIM + 1 + b] += sign * math.copysign(math.log1p(abs(v)), v)
    return out


def patch_params(patches: torch.Tensor) -> torch.Tensor:
    """(B, 78) normalised Voice patches (a search population) -> (B, PARAM_DIM) parameter features."""
    p = patches.reshape(-1, PATCH_DIM).float().clamp(0, 1)
    out = torch.zeros(p.shape[0], PARAM_DIM)
    out[:, :PATCH_DIM] = p
    out[:, PATCH_DIM] = 1.0
    return out


def normalize_peak(x: torch.Tensor, target: float = TARGET_PEAK) -> torch.Tensor:
    x = torch.nan_to_num(x.float())
    peak = x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-4)
    return x * (target / peak)


class FeatureStore:
    """Audio embeddings of library sounds for one embedder, cached in memory and on disk."""

    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.embedder = embedder
        self.name = embedder_name(embedder)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)
        self.path = Path(folder) / f"features-{safe}.pt"
        self._lock = threading.Lock()
        self._cache: dict[str, torch.Tensor] = {}
        self._text: dict[str, torch.Tensor] = {}
        self._dirty = False
        if self.path.exists():
            try:
                data = torch.load(self.path, map_location="cpu", weights_only=True)
                self._cache = {k: v.float() for k, v in data.items()}
            except Exception:
                self._cache = {}

    @property
    def dim(self) -> int:
        return int(self.embedder.dim)

    def audio(self, library, records: list[SoundRecord]) -> torch.Tensor:
        """(N, dim) audio embeddings (peak-normalised mono, the file's own sample rate)."""
        missing = [r for r in records if r.id not in self._cache]
        for r in missing:
            audio = library.read(r.id)
            mono = audio.mono()[: int(MAX_SECONDS * audio.sample_rate)]
            x = torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32))[None]
            dev = self.embedder.device
            with torch.no_grad():
                e = self.embedder.embed_audio(normalize_peak(x).to(dev), audio.sample_rate).float().cpu()[0]
            with self._lock:
                self._cache[r.id] = torch.nn.functional.normalize(e, dim=-1)
                self._dirty = True
        if not records:
            return torch.zeros(0, self.dim)
        return torch.stack([self._cache[r.id] for r in records])

    def text(self, prompts: list[str | None]) -> torch.Tensor:
        """(N, dim) prompt embeddings; a sound without a prompt gets zeros."""
        todo = sorted({p for p in prompts if p and p not in self._text})
        if todo:
            with torch.no_grad():
                t = self.embedder.embed_text(todo).float().cpu()
            for p, v in zip(todo, torch.nn.functional.normalize(t, dim=-1)):
                self._text[p] = v
        if not prompts:
            return torch.zeros(0, self.dim)
        return torch.stack([self._text[p] if p else torch.zeros(self.dim) for p in prompts])

    def params(self, records: list[SoundRecord]) -> torch.Tensor:
        if not records:
            return torch.zeros(0, PARAM_DIM)
        return torch.stack([param_vector(r) for r in records])

    def all(self, library, records: list[SoundRecord]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.audio(library, records), self.text([r.prompt for r in records]), self.params(records)

    def save(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".partial")
            torch.save(dict(self._cache), tmp)
            tmp.replace(self.path)
            self._dirty = False
