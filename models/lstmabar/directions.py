"""Same-note directional batches for LSTMABAR v2 training.

The crowd-effect triplets of the corpus pair every effect with a different dry clip, so a directional
loss over them is satisfied by telling instruments apart. What the tools need (and what
``benchmarks/lstmabar_real`` tests) is telling *effects* apart on one sound: several words' crowd settings
applied to the same note, each text direction matched with its own audio change.

This module renders such groups on the fly from the training words' mean crowd settings:
- EQ in the spectral domain: the dry note's STFT power times the chain's measured power response
  (an impulse through the same pedalboard filters the corpus uses), then the front end's mel bands and
  unit-RMS normalisation (``FullBandLogMel.power`` / ``from_power``). Exact for a linear filter up to STFT windowing, and about 50x faster than
  filtering 2 s of audio with 40 peaking filters;
- reverb and compressor in the time domain with pedalboard (a few ms each).

Targets are soft: two words whose renders change the note alike (by a plain measurement, the
time-frequency map of the log-mel change) are not pushed apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .corpus.gm import article

EFFECT_SHARE = {"eq": 0.5, "reverb": 0.25, "compressor": 0.25}
_IMPULSE = 16_384  # long enough for the 20 Hz peaking filter's ring-out


def is_validation_word(word: str, share: float = 0.1) -> bool:
    """A fixed slice of the training words kept out of same-note batches, for decisions during training."""
    return int(hashlib.md5(f"same-note-val:{word}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def eq_power_response(values, amount: float, n_fft: int, sample_rate: int) -> np.ndarray:
    """|H(f)|^2 of the corpus's EQ chain for a crowd curve at ``amount``, at the n_fft // 2 + 1 bins."""
    import pedalboard

    from .corpus.effects import eq_plugins

    x = np.zeros(_IMPULSE, np.float32)
    x[0] = 1.0
    h = pedalboard.Pedalboard(eq_plugins(values, amount, sample_rate))(x, sample_rate)
    spec = np.abs(np.fft.rfft(h.astype(np.float64), n=_IMPULSE)) ** 2
    step = _IMPULSE // n_fft
    return spec[:: step][: n_fft // 2 + 1].astype(np.float32)


def filtered(power: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
    """Unit-RMS STFT power (bins, frames) through linear filters of power response ``h2`` (K, bins) ->
    (K, bins, frames), renormalised to unit RMS (Parseval) as the front end would after filtering."""
    p = power[None] * h2[:, :, None]
    return p * (power.sum() / p.sum((1, 2), keepdim=True).clamp(min=1e-12))


def change_map(wet: torch.Tensor, dry: torch.Tensor) -> torch.Tensor:
    """Log-mel change (..., 1, bands, frames) -> a coarse time-frequency map (16 bands x 12 steps), flat:
    the plain measurement soft targets and ``benchmarks/direction_ceiling`` compare changes with."""
    d = wet - dry
    return F.adaptive_avg_pool2d(d.reshape(-1, *d.shape[-2:]), (16, 12)).flatten(1).view(*d.shape[:-3], -1)


@dataclass
class Group:
    """One same-note batch: G dry notes x K words of one effect."""

    effect: str
    dry: torch.Tensor  # (G, 1, bands, frames) log-mel, unpooled
    wet: torch.Tensor  # (G, K, 1, bands, frames)
    words: list[list[str]]  # (G, K)
    note_index: list[int]  # the pool rows of the G notes
    target: torch.Tensor  # (G, K, K) soft match of text direction k to audio change l


class SameNoteBatcher:
    """Draws ``Group``s from a pool of dry training notes and the training words' mean crowd settings."""

    def __init__(self, dry_audio: np.ndarray, sample_rate: int, word_means: dict[str, dict[str, tuple[np.ndarray, int]]],
                 amounts: dict[str, tuple[float, ...]], *, rng: np.random.Generator, tau: float = 0.05,
                 shares: dict[str, float] | None = None):
        from .features import FullBandLogMel

        self.audio = dry_audio.astype(np.float32)
        self.sr = sample_rate
        self.front = FullBandLogMel()
        self.amounts = amounts
        self.rng = rng
        self.tau = tau
        share = {e: v for e, v in (shares or EFFECT_SHARE).items() if e in word_means and v > 0}
        self.shares = {e: v / sum(share.values()) for e, v in share.items()}
        self.words = {e: sorted(m) for e, m in word_means.items()}
        self.values = {e: {w: np.asarray(v) for w, (v, _) in m.items()} for e, m in word_means.items()}
        self.weights = {}
        for e, m in word_means.items():
            p = np.sqrt(np.array([m[w][1] for w in self.words[e]], float))
            self.weights[e] = p / p.sum()
        self._h2: dict[tuple[str, float], torch.Tensor] = {}

    def _eq(self, word: str, amount: float) -> torch.Tensor:
        key = (word, amount)
        if key not in self._h2:
            self._h2[key] = torch.from_numpy(eq_power_response(self.values["eq"][word], amount, self.front.n_fft, self.sr))
        return self._h2[key]

    def sample(self, groups: int, k: int, effect: str | None = None) -> Group:
        from .corpus.effects import apply_effect

        eff = effect or str(self.rng.choice(list(self.shares), p=list(self.shares.values())))
        notes = self.rng.choice(len(self.audio), groups, replace=False)
        dry_audio = self.audio[notes]
        with torch.no_grad():
            p_dry = self.front.power(torch.from_numpy(dry_audio))
            dry = self.front.from_power(p_dry)
            wet, words = [], []
            for g in range(groups):
                ws = list(self.rng.choice(self.words[eff], k, replace=False, p=self.weights[eff]))
                amount = float(self.rng.choice(self.amounts[eff]))
                if eff == "eq":
                    wet.append(self.front.from_power(filtered(p_dry[g], torch.stack([self._eq(w, amount) for w in ws]))))
                else:
                    y = np.stack([apply_effect(eff, self.values[eff][w], amount, dry_audio[g], self.sr) for w in ws])
                    wet.append(self.front(torch.from_numpy(y.astype(np.float32))))
                words.append(ws)
            wet_t = torch.stack(wet)  # (G, K, 1, bands, frames)
            f = F.normalize(change_map(wet_t, dry[:, None]), dim=-1)
            target = torch.softmax(f @ f.transpose(1, 2) / self.tau, dim=-1)
        return Group(eff, dry, wet_t, words, [int(i) for i in notes], target)


def name_query(name: str, unit: str) -> str:
    """The plain caption of a named instrument sound: "a marimba note"."""
    return f"{article(name)} {name} {unit}"


def direction_pairs(name: str, unit: str, word: str) -> list[tuple[str, str]]:
    """(described, anchor) texts of one direction, in the three phrasings training uses."""
    base = name_query(name, unit)
    return [(f"{base}, made {word}", base), (f"{article(word)} {word} sound", "a sound"),
            (f"{article(word)} {word} {name} {unit}", base)]


def text_pair(name: str, unit: str, word: str, form: int) -> tuple[str, str]:
    """One of ``direction_pairs``."""
    return direction_pairs(name, unit, word)[form]


def frozen_sentences(model, minilm, texts: list[str]) -> torch.Tensor:
    """(N, 384) sentence vectors of ``texts`` through MiniLM and the text tower's frozen tuned layers (MiniLM's
    own when the tower tunes none): what training caches, since those layers do not train in v2."""
    top = model.text.top
    with torch.no_grad():
        return model.text.sentence(minilm.hidden(texts, top.start)) if top is not None else minilm.encode(texts)


class SentenceCache:
    """``frozen_sentences``, computed once per text."""

    def __init__(self, model, texts: list[str], vecs: torch.Tensor):
        from .text_encoder import MiniLM

        self.model = model
        self.index = {t: i for i, t in enumerate(texts)}
        self.vecs = vecs.float()
        self._minilm = MiniLM(device="cpu")

    def __call__(self, texts: list[str]) -> torch.Tensor:
        new = sorted({t for t in texts if t not in self.index})
        if new:
            for t in new:
                self.index[t] = len(self.index)
            self.vecs = torch.cat([self.vecs, frozen_sentences(self.model, self._minilm, new).float()])
        return self.vecs[[self.index[t] for t in texts]]


def soft_info_nce(text_dir: torch.Tensor, audio_dir: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Per group: text direction k against the K audio changes of the same note, soft targets, both ways.
    ``text_dir``, ``audio_dir``: (G, K, dim) unit vectors; ``target``: (G, K, K)."""
    logits = scale.exp().clamp(max=100) * text_dir @ audio_dir.transpose(1, 2)
    t2a = -(target * F.log_softmax(logits, -1)).sum(-1).mean()
    a2t = -(target * F.log_softmax(logits.transpose(1, 2), -1)).sum(-1).mean()  # the similarity is symmetric
    return 0.5 * (t2a + a2t)


def pairwise_accuracy(da: torch.Tensor, dt: torch.Tensor, per_word: bool = False):
    """``da``: (W, N, dim) audio changes of W words on N notes; ``dt``: (W, dim) their text directions, or
    (W, N, dim) one per note. The share of (note, word i, word j != i) where text i is closer to word i's
    change than to word j's (ties count half): the pairwise test of ``benchmarks/lstmabar_real``; chance
    0.5. ``per_word``: the (W,) shares per word instead of their mean."""
    dan = F.normalize(da, dim=-1)
    dtn = F.normalize(dt if dt.dim() == 3 else dt[:, None].expand_as(da), dim=-1)
    s = torch.einsum("jxd,ixd->ijx", dan, dtn)  # s[i, j, x] = cos(change of word j on x, text of word i on x)
    own = torch.diagonal(s, dim1=0, dim2=1).T  # (W, N)
    win = (own[:, None] > s).float() + 0.5 * (own[:, None] == s).float()
    mask = ~torch.eye(len(da), dtype=torch.bool)
    words = torch.stack([win[i][mask[i]].mean() for i in range(len(da))])
    return words if per_word else float(words.mean())
