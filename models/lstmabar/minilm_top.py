"""The top layers of all-MiniLM-L6-v2, re-implemented in plain torch so LSTMABAR can fine-tune them.

A frozen sentence vector mixes the request's framing ("make it ... please") with the describing word,
and a projection on top of it cannot undo that mix; fine-tuning MiniLM's last layers lets the text
tower learn which tokens describe a sound (MODEL_CARD.md has the measured effect). The lower layers,
the token embeddings included, stay frozen, so what MiniLM knows about words it was never tuned on
is kept. The layers are BERT's post-LayerNorm encoder layers (12 heads, GELU), initialised from the
sha256-checked MiniLM weights; their tuned copies ship inside the LSTMABAR checkpoint. Written here
rather than borrowed from transformers so the shipped weights do not depend on its internals.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 384
HEADS = 12
FFN = 1536
N_LAYERS = 6
EPS = 1e-12


class EncoderLayer(nn.Module):
    """One BERT encoder layer: self-attention, then a GELU feed-forward, each with residual + LayerNorm."""

    def __init__(self, dropout: float = 0.1):
        super().__init__()
        self.query = nn.Linear(HIDDEN, HIDDEN)
        self.key = nn.Linear(HIDDEN, HIDDEN)
        self.value = nn.Linear(HIDDEN, HIDDEN)
        self.attn_out = nn.Linear(HIDDEN, HIDDEN)
        self.attn_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.ffn_in = nn.Linear(HIDDEN, FFN)
        self.ffn_out = nn.Linear(FFN, HIDDEN)
        self.out_norm = nn.LayerNorm(HIDDEN, eps=EPS)
        self.dropout = dropout

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """h (B, L, 384); mask (B, L) bool, True for real tokens."""
        b, n, _ = h.shape

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.view(b, n, HEADS, HIDDEN // HEADS).transpose(1, 2)

        drop = self.dropout if self.training else 0.0
        att = F.scaled_dot_product_attention(
            heads(self.query(h)), heads(self.key(h)), heads(self.value(h)), attn_mask=mask[:, None, None, :], dropout_p=drop)
        att = att.transpose(1, 2).reshape(b, n, HIDDEN)
        h = self.attn_norm(h + F.dropout(self.attn_out(att), drop, self.training))
        ff = self.ffn_out(F.gelu(self.ffn_in(h)))
        return self.out_norm(h + F.dropout(ff, drop, self.training))


# our names -> the safetensors names inside encoder.layer.{i}.
_NAMES = {
    "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
    "attn_out": "attention.output.dense", "attn_norm": "attention.output.LayerNorm",
    "ffn_in": "intermediate.dense", "ffn_out": "output.dense", "out_norm": "output.LayerNorm",
}


class MiniLMTop(nn.Module):
    """MiniLM's last ``n_layers`` layers + mean pooling: token states after layer ``6 - n_layers``
    -> L2-normalised sentence vectors (B, 384), the same vectors MiniLM gives before any tuning."""

    def __init__(self, n_layers: int, dropout: float = 0.1):
        super().__init__()
        if not 1 <= n_layers <= N_LAYERS:
            raise ValueError(f"n_layers must be 1..{N_LAYERS}, got {n_layers}")
        self.n_layers = n_layers
        self.layers = nn.ModuleList(EncoderLayer(dropout) for _ in range(n_layers))

    @property
    def start(self) -> int:
        """Index into MiniLM's hidden states (0 = embeddings) that this module takes as input."""
        return N_LAYERS - self.n_layers

    def load_pretrained(self, model_dir: Path) -> MiniLMTop:
        from safetensors.torch import load_file

        sd = load_file(str(Path(model_dir) / "model.safetensors"))
        for j, layer in enumerate(self.layers):
            i = self.start + j
            for ours, theirs in _NAMES.items():
                mod = getattr(layer, ours)
                mod.weight.data.copy_(sd[f"encoder.layer.{i}.{theirs}.weight"])
                mod.bias.data.copy_(sd[f"encoder.layer.{i}.{theirs}.bias"])
        return self

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            h = layer(h, mask)
        m = mask.unsqueeze(-1).to(h.dtype)
        return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)
