"""The matching networks: a small Audio Spectrogram Transformer (seed 002) and its MLP and CNN baselines.

All take features (B, 1, 64, 126) from ``features.log_mel`` and return normalised parameters (B, P)
in [0, 1] (sigmoid output). Sizes are chosen for a 2-core CPU: the AST uses 16x16 patches with an
8 (frequency) x 16 (time) stride (7 x 7 = 49 patches, overlapping in frequency as the seed's do),
4 encoder layers of width 128 with 4 heads, then a 3-layer MLP head, as in the seed.
"""

from __future__ import annotations

import torch
from torch import nn

from .features import N_MELS, NUM_FRAMES


class AST(nn.Module):
    def __init__(
        self,
        num_params: int,
        *,
        dim: int = 128,
        depth: int = 4,
        heads: int = 4,
        patch: int = 16,
        stride: tuple[int, int] = (8, 16),
        n_mels: int = N_MELS,
        n_frames: int = NUM_FRAMES,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = dict(num_params=num_params, dim=dim, depth=depth, heads=heads, patch=patch, stride=list(stride))
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=patch, stride=stride)
        nf = (n_mels - patch) // stride[0] + 1
        nt = (n_frames - patch) // stride[1] + 1
        self.num_patches = nf * nt
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, self.num_patches + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=dropout, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, num_params))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(feats).flatten(2).transpose(1, 2)  # (B, N, D)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.norm(self.encoder(x))
        pooled = 0.5 * (x[:, 0] + x[:, 1:].mean(1))
        return torch.sigmoid(self.head(pooled))


class MLP(nn.Module):
    """Seed 002's 5-layer MLP baseline over the flattened spectrogram."""

    def __init__(self, num_params: int, *, hidden: int = 256, n_mels: int = N_MELS, n_frames: int = NUM_FRAMES) -> None:
        super().__init__()
        self.config = dict(num_params=num_params, hidden=hidden)
        d = n_mels * n_frames
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(d, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_params),
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(feats))


class CNN(nn.Module):
    """Seed 002's 5-layer CNN baseline: conv-BN-ReLU-pool blocks, global pooling, linear head."""

    def __init__(self, num_params: int, *, width: int = 32) -> None:
        super().__init__()
        self.config = dict(num_params=num_params, width=width)
        chans = [1, width // 2, width, 2 * width, 4 * width, 4 * width]
        blocks = []
        for i in range(5):
            blocks += [nn.Conv2d(chans[i], chans[i + 1], 3, padding=1), nn.BatchNorm2d(chans[i + 1]), nn.ReLU()]
            if i < 4:
                blocks.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(chans[-1], num_params)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(self.body(feats).mean(dim=(2, 3))))


ARCHS = {"ast": AST, "mlp": MLP, "cnn": CNN}


def build(arch: str, num_params: int, **kwargs) -> nn.Module:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; one of {sorted(ARCHS)}")
    return ARCHS[arch](num_params, **kwargs)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
