"""LAION-CLAP behind the project's ``Embedder`` interface (``load_embedder("clap")``).

* Text: RoBERTa tokenizer, truncated to 77 tokens as in LAION training, ``ClapModel.get_text_features``.
  Computed without gradients.
* Audio: mono float audio at any rate -> resampled in torch to 48 kHz -> 10 s window (shorter clips
  repeat-padded, longer ones centre-cropped; fused models use deterministic fusion crops; see
  :mod:`lstmabar.models.clap.audio`) -> torch log-mel (matches ``ClapFeatureExtractor``) ->
  ``ClapModel.get_audio_features``. Differentiable with respect to the input audio when grad is enabled
  (model weights are frozen). Float input, no int16 quantisation unless ``quantize=True``.
* Batched (``batch_size`` clips per forward pass), on CUDA when present. On CUDA, fp16 autocast is used
  only if, on probe inputs at load time, it changes no embedding by more than 1e-3 cosine; otherwise fp32.
* Both outputs are float32 and L2-normalised.
* Loading refuses a degenerate tokenizer or a text tower that embeds different prompts identically
  (:class:`lstmabar.models.clap.tokenizer_check.DegenerateTokenizer`, an ``EmbedderUnavailable``).
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F

from . import audio as clap_audio
from .audio import FrontEndSettings
from .tokenizer_check import check_text_embeddings

MAX_TEXT_TOKENS = 77
FP16_MAX_COSINE_ERROR = 1e-3


class ClapEmbedder:
    name = "clap"

    def __init__(
        self,
        model,
        tokenizer,
        settings: FrontEndSettings | None = None,
        *,
        device: str | torch.device | None = None,
        source: str = "",
        batch_size: int | None = None,
        allow_fp16: bool = True,
        quantize: bool = False,
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.eval().to(self.device)
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.settings = settings or FrontEndSettings(fusion=bool(model.config.audio_config.enable_fusion))
        self.sample_rate = self.settings.sample_rate
        self.dim = int(model.config.projection_dim)
        self.source = source
        self.batch_size = batch_size or (64 if self.device.type == "cuda" else 16)
        self.quantize = quantize
        self.fp16 = False
        self.fp16_cosine_error: float | None = None
        if allow_fp16 and self.device.type == "cuda":
            self._decide_fp16()

    # -- helpers -------------------------------------------------------------------------------------
    def _autocast(self):
        if self.fp16:
            return torch.autocast(device_type=self.device.type, dtype=torch.float16)
        return contextlib.nullcontext()

    def _decide_fp16(self) -> None:
        g = torch.Generator().manual_seed(0)
        t = torch.arange(self.sample_rate * 3) / self.sample_rate
        probes_audio = torch.stack(
            [0.3 * torch.sin(2 * math.pi * 440 * t), 0.1 * torch.randn(t.shape[0], generator=g), 0.2 * torch.sign(torch.sin(2 * math.pi * 110 * t))]
        )
        texts = ["a dog barking", "a sine wave tone", "white noise hiss"]
        with torch.no_grad():
            ref_a, ref_t = self.embed_audio(probes_audio, self.sample_rate), self.embed_text(texts)
            self.fp16 = True
            try:
                half_a, half_t = self.embed_audio(probes_audio, self.sample_rate), self.embed_text(texts)
            except Exception:
                self.fp16 = False
                return
        err = max(float((1 - (ref_a * half_a).sum(-1)).max()), float((1 - (ref_t * half_t).sum(-1)).max()))
        self.fp16_cosine_error = err
        self.fp16 = err <= FP16_MAX_COSINE_ERROR

    # -- Embedder protocol ---------------------------------------------------------------------------
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            return torch.zeros(0, self.dim, device=self.device)
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), max(self.batch_size, 32)):
                tok = self.tokenizer(
                    texts[i : i + max(self.batch_size, 32)], padding=True, truncation=True,
                    max_length=MAX_TEXT_TOKENS, return_tensors="pt",
                )
                inputs = {k: v.to(self.device) for k, v in tok.items() if k in ("input_ids", "attention_mask")}
                with self._autocast():
                    feats = self.model.get_text_features(**inputs).pooler_output
                out.append(F.normalize(feats.float(), dim=-1))
        return torch.cat(out, 0)

    def features(self, audio: torch.Tensor, sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, samples) at ``sample_rate`` -> the model's (input_features, is_longer)."""
        audio = torch.as_tensor(audio)
        if audio.dim() == 1:
            audio = audio[None]
        if audio.dim() != 2:
            raise ValueError(f"embed_audio expects (batch, samples) mono audio, got shape {tuple(audio.shape)}")
        if not audio.is_floating_point():
            audio = audio.float()
        audio = audio.to(self.device, torch.float32)
        audio = clap_audio.resample(audio, int(sample_rate), self.sample_rate)
        return clap_audio.features(audio, self.settings, quantize=self.quantize)

    def embed_audio(self, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
        audio = torch.as_tensor(audio)
        if audio.dim() == 1:
            audio = audio[None]
        if audio.shape[0] == 0:
            return torch.zeros(0, self.dim, device=self.device)
        out = []
        for i in range(0, audio.shape[0], self.batch_size):
            feats, longer = self.features(audio[i : i + self.batch_size], sample_rate)
            with self._autocast():
                emb = self.model.get_audio_features(input_features=feats, is_longer=longer).pooler_output
            out.append(F.normalize(emb.float(), dim=-1))
        return torch.cat(out, 0)

    def __repr__(self) -> str:
        return f"ClapEmbedder(source={self.source!r}, dim={self.dim}, device={self.device}, fp16={self.fp16})"


def load_clap_embedder(arg: str | None = None, device: str | None = None, allow_downloads: bool = False) -> ClapEmbedder:
    """``load_embedder("clap[:<hub id | folder | .pt>]")``; see :mod:`lstmabar.models.clap.loading`."""
    from .loading import load_clap

    loaded = load_clap(arg, allow_downloads=allow_downloads)
    emb = ClapEmbedder(loaded.model, loaded.tokenizer, loaded.settings, device=device, source=loaded.source)
    check_text_embeddings(emb.embed_text, where=f" ({loaded.source})")
    emb.tokenizer_source = loaded.tokenizer_source  # type: ignore[attr-defined]
    emb.load_notes = loaded.notes  # type: ignore[attr-defined]
    return emb
