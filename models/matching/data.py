"""Training data for the matcher, generated on the fly by the batched Voice synth.

Patches are sampled uniformly in the normalised space [0, 1]^78 (as seed 003's doppelgängers and
CTAG do), except the keyboard: the note is drawn uniformly over MIDI 24..96 and the held duration
uniformly over 0.1..1.8 s (physical units), so the training set spans pitch and duration (the
seed 002 paper used one pitch and names that as its weakness). Near-silent or non-finite renders are
redrawn. Rendering is at ``FEATURE_SR`` (16 kHz), 2 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch

from .features import FEATURE_SR, SECONDS, log_mel

if TYPE_CHECKING:
    from .subtractive import SubtractiveSynth

RenderFn = Callable[[torch.Tensor, int], torch.Tensor]  # (params (B, P), seed) -> audio (B, T) at FEATURE_SR

MIDI_RANGE = (24.0, 96.0)
DURATION_RANGE = (0.1, 1.8)
SILENCE_RMS = 1e-4


@dataclass
class SynthSpec:
    """What the matcher needs to know about a synth: parameter count/names, a renderer and
    a sampler of plausible normalised parameters."""

    name: str
    param_names: tuple[str, ...]
    render: RenderFn
    sample: Callable[[int, torch.Generator], torch.Tensor]

    @property
    def num_params(self) -> int:
        return len(self.param_names)


def voice_spec(sample_rate: int = FEATURE_SR, seconds: float = SECONDS) -> SynthSpec:
    """The torchsynth-style ``Voice`` from models/synth (78 params)."""
    from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS
    from lstmabar.models.synth.voice import Voice

    control_rate = 400 if sample_rate % 400 == 0 else 100
    voice = Voice(sample_rate=sample_rate, control_rate=control_rate, seconds=seconds)
    voice.eval()
    i_f0, i_dur = PARAM_INDEX["keyboard.midi_f0"], PARAM_INDEX["keyboard.duration"]
    spec_f0, spec_dur = VOICE_PARAMS[i_f0], VOICE_PARAMS[i_dur]

    def sample(n: int, g: torch.Generator) -> torch.Tensor:
        p = torch.rand(n, len(VOICE_PARAMS), generator=g)
        midi = MIDI_RANGE[0] + (MIDI_RANGE[1] - MIDI_RANGE[0]) * torch.rand(n, generator=g)
        dur = DURATION_RANGE[0] + (DURATION_RANGE[1] - DURATION_RANGE[0]) * torch.rand(n, generator=g)
        p[:, i_f0] = torch.tensor([float(spec_f0.to_normalized(float(m))) for m in midi])
        p[:, i_dur] = torch.tensor([float(spec_dur.to_normalized(float(d))) for d in dur])
        return p.clamp(0, 1)

    def render(params: torch.Tensor, seed: int) -> torch.Tensor:
        with torch.no_grad():
            return voice.render(params, seed=seed)

    return SynthSpec("voice", tuple(s.name for s in VOICE_PARAMS), render, sample)


def toy_spec(num_params: int = 8, sample_rate: int = FEATURE_SR, seconds: float = SECONDS) -> SynthSpec:
    """A tiny differentiable stand-in synth (pitch, duration, sine/saw/noise mix, attack, decay,
    brightness, vibrato) used by the tests and for developing the training loop."""
    n = int(sample_rate * seconds)
    t = torch.arange(n) / sample_rate

    def render(params: torch.Tensor, seed: int) -> torch.Tensor:
        p = params
        g = torch.Generator().manual_seed(seed)
        midi = 24 + 72 * p[:, 0:1]
        f0 = 440 * 2 ** ((midi - 69) / 12)
        dur = 0.1 + 1.7 * p[:, 1:2]
        vib = 1 + 0.02 * p[:, 7:8] * torch.sin(2 * math.pi * 5 * t)[None]
        phase = torch.cumsum(f0 * vib / sample_rate, dim=1)
        sine = torch.sin(2 * math.pi * phase)
        saw = 2 * (phase % 1) - 1
        noise = torch.rand(p.shape[0], n, generator=g) * 2 - 1
        mix = p[:, 2:3] * sine + p[:, 3:4] * saw + 0.3 * p[:, 4:5] * noise
        attack = 0.005 + 0.5 * p[:, 5:6]
        env = torch.clamp(t[None] / attack, max=1.0) * torch.exp(-3 * torch.relu(t[None] - dur) / (0.05 + 0.5 * p[:, 6:7]))
        env = env * torch.exp(-torch.relu(t[None] - dur) * 0)  # keep shape
        return (mix * env).float()

    def sample(k: int, g: torch.Generator) -> torch.Tensor:
        return torch.rand(k, num_params, generator=g)

    names = ("pitch", "duration", "sine", "saw", "noise", "attack", "release", "vibrato")[:num_params]
    names = names + tuple(f"p{i}" for i in range(len(names), num_params))
    return SynthSpec("toy", names, render, sample)


def make_batch(spec: SynthSpec, batch: int, g: torch.Generator, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (B, 1, 64, 126), params (B, P)), redrawing silent or broken renders (at most 4 rounds)."""
    params = spec.sample(batch, g)
    audio = spec.render(params, seed)
    for r in range(4):
        rms = audio.pow(2).mean(1).sqrt()
        bad = ~torch.isfinite(rms) | (rms < SILENCE_RMS) | ~torch.isfinite(audio).all(1)
        if not bad.any():
            break
        idx = bad.nonzero()[:, 0]
        new = spec.sample(len(idx), g)
        params[idx] = new
        audio[idx] = spec.render(new, seed + 1000 * (r + 1))
    keep = torch.isfinite(audio).all(1) & (audio.pow(2).mean(1).sqrt() >= SILENCE_RMS)
    params, audio = params[keep], audio[keep]
    return log_mel(audio), params


class Pool:
    """A pool of rendered examples that is partly refreshed by the synth between epochs: cheap
    reuse on a slow CPU while still drawing new patches every epoch."""

    def __init__(self, spec: SynthSpec, size: int, *, seed: int = 0, chunk: int = 64, progress: Callable[[int, int], None] | None = None) -> None:
        self.spec, self.size, self.chunk = spec, size, chunk
        self.g = torch.Generator().manual_seed(seed)
        self.seed = seed
        self._calls = 0
        feats, params = [], []
        have = 0
        while have < size:
            f, p = self._batch()
            feats.append(f)
            params.append(p)
            have += len(p)
            if progress:
                progress(min(have, size), size)
        self.feats = torch.cat(feats)[:size].contiguous()
        self.params = torch.cat(params)[:size].contiguous()

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._calls += 1
        return make_batch(self.spec, self.chunk, self.g, self.seed * 100_003 + self._calls)

    def refresh(self, fraction: float) -> int:
        """Replace about ``fraction`` of the pool with newly rendered patches; returns how many."""
        n = int(self.size * fraction)
        done = 0
        while done < n:
            f, p = self._batch()
            k = min(len(p), n - done)
            idx = torch.randint(0, self.size, (k,), generator=self.g)
            self.feats[idx], self.params[idx] = f[:k], p[:k]
            done += k
        return done

    def __len__(self) -> int:
        return self.size


def archetype_spec(sample_rate: int = FEATURE_SR, seconds: float = SECONDS) -> SynthSpec:
    """The five-archetype engine (models/synth/archetype.py): 5 weights + 8 controls, 13 normalised values."""
    from lstmabar.models.synth.archetype import ARCHETYPES, CONTROL_SPECS, ArchetypeParams, render_archetypes

    def render(params: torch.Tensor, seed: int) -> torch.Tensor:
        with torch.no_grad():
            return render_archetypes(ArchetypeParams.from_normalized(params), sample_rate=sample_rate, seconds=seconds, seed=seed)

    def sample(n: int, g: torch.Generator) -> torch.Tensor:
        w = -torch.log(torch.rand(n, 5, generator=g).clamp_min(1e-6))  # Dirichlet(1)
        w = w / w.sum(1, keepdim=True)
        return torch.cat([w, torch.rand(n, len(CONTROL_SPECS), generator=g)], 1)

    names = tuple(f"weight.{a}" for a in ARCHETYPES) + tuple(s.name for s in CONTROL_SPECS)
    return SynthSpec("archetype", names, render, sample)


def subtractive_spec(sample_rate: int = FEATURE_SR, seconds: float = SECONDS, synth: SubtractiveSynth | None = None) -> SynthSpec:
    """The subtractive matching synth (``subtractive.py``, 25 params). Patches come from ``sample_sub``:
    uniform in the normalised space, so the note is uniform over its whole range (MIDI 21-108) and the
    filter cutoff, envelope amount and attack (what a harder key strike changes in a real instrument) span
    theirs; the level is not a parameter (the synth peak-normalises and the features are peak-referenced).
    ``synth``: an existing ``SubtractiveSynth`` to render with (the matcher's)."""
    from .subtractive import SUB_NAMES, SubtractiveSynth, sample_sub

    s = synth if synth is not None else SubtractiveSynth(sample_rate, seconds)

    def render(params: torch.Tensor, seed: int) -> torch.Tensor:
        with torch.no_grad():
            return s.render(params, seed)

    return SynthSpec("subtractive", SUB_NAMES, render, sample_sub)
