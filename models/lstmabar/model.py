"""The LSTMABAR two-tower model (seed 000): text tower (Sentence-BERT all-MiniLM-L6-v2, frozen or with
its last layers tuned -> 8-qubit quantum attention -> projection), audio tower (ResNet-18-style CNN on
log-mel), InfoNCE with a learnable temperature, and an MLP head to a 5-way softmax over the archetypes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .features import FullBandLogMel, LogMel
from .minilm_top import MiniLMTop

N_QUBITS = 8
TEXT_DIM = 384  # all-MiniLM-L6-v2


@dataclass
class ModelConfig:
    dim: int = 256  # joint space
    attention: str = "quantum"  # "quantum" | "classical" | "none"
    q_layers: int = 3  # StronglyEntanglingLayers depth: 3 * 8 * 3 = 72 circuit weights
    widths: tuple[int, ...] = (24, 48, 96, 192)
    head_hidden: int = 128
    dropout: float = 0.1
    tune_layers: int = 0  # MiniLM's last layers fine-tuned inside the text tower (0: MiniLM fully frozen)
    front_end: str = "v1"  # "v1": 64-band log-mel at 16 kHz (20-8000 Hz); "full": 128 bands to 20 kHz at 44.1 kHz
    mel_pool: int = 1  # average-pool the log-mel by this factor in frequency and time before the CNN
    descriptors: tuple[str, ...] = ()  # measured descriptors an audio head predicts (standardised)
    spectral_skip: bool = False  # add a linear read-out of the clip's band profile (mean, spread over time)

    @property
    def bands(self) -> int:
        """Mel bands the CNN reads (after pooling)."""
        return -(-(128 if self.front_end == "full" else 64) // self.mel_pool)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        d["descriptors"] = list(self.descriptors)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        d["widths"] = tuple(d.get("widths", (24, 48, 96, 192)))
        d["descriptors"] = tuple(d.get("descriptors", ()))
        return cls(**d)


def _quantum_layer(n_layers: int) -> nn.Module:
    import pennylane as qml

    dev = qml.device("default.qubit", wires=N_QUBITS)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(N_QUBITS), rotation="Y")
        qml.StronglyEntanglingLayers(weights, wires=range(N_QUBITS))
        return [qml.expval(qml.PauliZ(w)) for w in range(N_QUBITS)]

    shapes = {"weights": (n_layers, N_QUBITS, 3)}
    return qml.qnn.TorchLayer(circuit, shapes, init_method=lambda t: nn.init.uniform_(t, 0, 2 * math.pi))


class ScoreCircuitClassical(nn.Module):
    """The classical stand-in with the circuit's parameter count (72 = 8 x 8 + 8): tanh(W a + b)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(N_QUBITS, N_QUBITS)

    def forward(self, a):
        return torch.tanh(self.lin(a))


class HeadAttention(nn.Module):
    """"Quantum attention" over 8 feature heads. The 384-d sentence vector is split into 8 heads of 48;
    8 angles (a linear read-out of the vector, squashed to [-pi, pi]) drive an 8-qubit circuit (angle
    embedding + strongly entangling layers); its 8 Pauli-Z expectations, through a softmax, weight the
    heads, which a linear map mixes back into the residual stream:
        y = x + W_o (softmax(tau * z(angles)) * 8 (.) heads(x)).
    ``kind='classical'`` swaps the circuit for a tanh layer of the same parameter count (72)."""

    def __init__(self, kind: str = "quantum", dim: int = TEXT_DIM, q_layers: int = 3):
        super().__init__()
        self.kind = kind
        self.norm = nn.LayerNorm(dim)
        self.to_angles = nn.Linear(dim, N_QUBITS)
        self.scorer = _quantum_layer(q_layers) if kind == "quantum" else ScoreCircuitClassical()
        self.tau = nn.Parameter(torch.tensor(2.0))
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        a = math.pi * torch.tanh(self.to_angles(self.norm(x)))
        z = self.scorer(a)
        return z.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, d = x.shape
        z = self.scores(x)
        w = torch.softmax(self.tau * z, dim=-1) * N_QUBITS  # (B, 8), mean 1
        heads = self.norm(x).view(b, N_QUBITS, d // N_QUBITS) * w[:, :, None]
        return x + self.out(heads.reshape(b, d))


# What the text tower reads: pooled MiniLM sentence vectors (B, 384) when MiniLM is frozen, or token
# states and their mask ((B, L, 384), (B, L) bool) from ``MiniLM.hidden`` when its top layers are tuned.
TextInput = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


class TextTower(nn.Module):
    """MiniLM output -> joint space (B, dim). The frozen part of MiniLM is kept outside
    (``text_encoder.MiniLM``), so training can use precomputed vectors or token states."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.top = MiniLMTop(cfg.tune_layers, cfg.dropout) if cfg.tune_layers else None
        self.attn = HeadAttention(cfg.attention, TEXT_DIM, cfg.q_layers) if cfg.attention != "none" else nn.Identity()
        self.proj = nn.Sequential(nn.Linear(TEXT_DIM, 512), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(512, cfg.dim))

    def sentence(self, x: TextInput) -> torch.Tensor:
        """Unit sentence vectors (B, 384): MiniLM's own, or those of its tuned top layers."""
        if self.top is None:
            if isinstance(x, tuple):
                raise TypeError("this text tower reads sentence vectors, not token states")
            return x
        if not isinstance(x, tuple):
            raise TypeError(f"this text tower tunes MiniLM's last {self.top.n_layers} layers and reads token states (MiniLM.hidden)")
        return self.top(*x)

    def forward(self, x: TextInput, noise: float = 0.0) -> torch.Tensor:
        return self.from_sentence(self.sentence(x), noise)

    def from_sentence(self, s: torch.Tensor, noise: float = 0.0) -> torch.Tensor:
        """Unit sentence vectors (B, 384), e.g. precomputed through frozen tuned layers -> (B, dim)."""
        if noise > 0:  # augmentation: unseen words near training words in MiniLM space map alike
            s = F.normalize(s + noise * torch.randn_like(s), dim=-1)
        return self.proj(self.attn(s))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + self.skip(x))


class AudioResNet(nn.Module):
    """ResNet-18 layout (7x7/2 stem, 3x3/2 max-pool, four stages of two basic blocks, global pooling)
    on 1-channel log-mel, with narrower stages for CPU training; mean+max pooled -> dim."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.widths
        self.stem = nn.Sequential(nn.Conv2d(1, w[0], 7, 2, 3, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], w[0]
        for i, c in enumerate(w):
            layers += [BasicBlock(cin, c, 1 if i == 0 else 2), BasicBlock(c, c, 1)]
            cin = c
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(2 * cin, 512), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(512, cfg.dim))
        self.in_norm = nn.BatchNorm2d(1)
        # An EQ or a reverb moves the band profile; a linear read-out of it makes such moves a direction
        # in the joint space (the directional loss needs that). Zero-initialised: adding it changes nothing.
        self.spectral = nn.Linear(2 * cfg.bands, cfg.dim) if cfg.spectral_skip else None
        if self.spectral is not None:
            nn.init.zeros_(self.spectral.weight)
            nn.init.zeros_(self.spectral.bias)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.stem(self.in_norm(mel)))
        h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=-1)
        out = self.fc(h)
        if self.spectral is not None:
            prof = mel[:, 0]
            out = out + self.spectral(torch.cat([prof.mean(-1), prof.std(-1)], dim=-1))
        return out


class ArchetypeHead(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cfg.dim, cfg.head_hidden), nn.GELU(), nn.Linear(cfg.head_hidden, 5))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """(B, dim) L2-normalised joint vectors -> (B, 5) logits."""
        return self.net(e)


class DescriptorHead(nn.Module):
    """Audio joint vector (before normalisation) -> the standardised measured descriptors of the clip
    (``cfg.descriptors``; means and scales travel in the checkpoint)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cfg.dim, cfg.head_hidden), nn.GELU(), nn.Linear(cfg.head_hidden, len(cfg.descriptors)))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class LSTMABARModel(nn.Module):
    def __init__(self, cfg: ModelConfig | None = None):
        super().__init__()
        self.cfg = cfg or ModelConfig()
        self.logmel = FullBandLogMel() if self.cfg.front_end == "full" else LogMel()
        self.text = TextTower(self.cfg)
        self.audio = AudioResNet(self.cfg)
        self.head = ArchetypeHead(self.cfg)
        self.descriptor_head = DescriptorHead(self.cfg) if self.cfg.descriptors else None
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @property
    def sample_rate(self) -> int:
        """The rate the front end works at (input at other rates is resampled to it)."""
        return 44_100 if self.cfg.front_end == "full" else 16_000

    def encode_text_vectors(self, x: TextInput, noise: float = 0.0) -> torch.Tensor:
        return F.normalize(self.text(x, noise), dim=-1)

    def pool(self, mel: torch.Tensor) -> torch.Tensor:
        k = self.cfg.mel_pool
        return F.avg_pool2d(mel, k, ceil_mode=True) if k > 1 else mel

    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, bands, frames) from ``logmel`` (unpooled) -> unit joint vectors."""
        return F.normalize(self.audio(self.pool(mel)), dim=-1)

    def encode_wave(self, x: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        """(B, samples) at ``sample_rate`` (default: the front end's own rate)."""
        if self.cfg.front_end == "full":
            return self.encode_mel(self.logmel(x, sample_rate or self.sample_rate))
        from .features import resample

        return self.encode_mel(self.logmel(resample(x, sample_rate or self.sample_rate, self.sample_rate)))

    def archetypes(self, e: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(e), dim=-1)


def info_nce(t: torch.Tensor, a: torch.Tensor, logit_scale: torch.Tensor, group: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE; ``group`` (B,) marks pairs sharing a caption, which are not negatives."""
    scale = logit_scale.clamp(max=math.log(100.0)).exp()
    logits = scale * t @ a.T
    if group is not None:
        same = (group[:, None] == group[None, :]) & ~torch.eye(len(group), dtype=torch.bool, device=t.device)
        logits = logits.masked_fill(same, -1e4)
    target = torch.arange(len(t), device=t.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)
