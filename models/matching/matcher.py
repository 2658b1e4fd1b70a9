"""The matching pipeline used by the ``match_sound`` tool and the benchmark.

1. Prepare the target: mono, 16 kHz, leading silence trimmed, cut to 2 s (longer sounds: only the
   first 2 s are matched, and the result says so).
2. Pitch: CREPE (``pitch.estimate_pitch``) gives f0 when the sound is periodic enough.
3. Amortised inference: the trained network (the CNN by default; the AST or the MLP on request) maps the log-mel to the 16 normalised
   core parameters of the Voice (``voice_core.py``: the parameters a listener hears, on a fixed
   two-oscillator layout), as seed 002 matched 16 parameters of its synth.
4. Note from f0: the keyboard note is set to the CREPE pitch (less half the predicted vibrato depth,
   which only bends upwards); a few variants (the octave above/below, the raw prediction) are
   rendered and the best by MR-STFT is kept.
5. Refinement: CMA-ES on the MR-STFT loss over the core parameters with the note held fixed, within
   the time budget.
6. Final render of the full 78-parameter Voice patch at 48 kHz and the match metrics against the target.

For ``synth="subtractive"`` (the filtered synth of ``subtractive.py``, made for real instruments) steps
3-5 are ``sub_match.match_subtractive``: a first guess measured from the target, the estimator network's
guess at the same note (``load_sub_network``; left out when its weights do not load), a bank of random
starts at the CREPE note, CMA-ES and then Adam on multi-resolution STFT + loudness envelope; whichever
stage ends lowest wins.

For ``synth="archetype"`` step 3 uses ``models/synth/analysis.estimate_archetypes`` (an analytic
estimate of the five weights) instead of a trained network; the rest is the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .data import SynthSpec, archetype_spec, subtractive_spec
from .features import FEATURE_SR, NUM_SAMPLES, SECONDS, log_mel, to_feature_rate
from .metrics import all_metrics, mr_stft_torch
from .networks import build
from .notes import ALTERNATIVE_PRIOR, NoteChoice, note_candidates
from .pitch import PitchEstimate, estimate_pitch
from .refine import SearchResult, cma_refine
from .voice_core import CORE_INDEX, CORE_PARAMS, expand, voice_core_spec

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
OUTPUT_SR = 48_000

# A match is flagged poor when either figure is above these (see MODEL_CARD.md for where they come from).
POOR_SPECTRAL_CONVERGENCE = 0.85
POOR_MR_STFT = 2.0

ProgressFn = Callable[[float, str], None]  # (fraction done 0..1, message); may raise to cancel


def load_network(synth: str = "voice_core", arch: str = "ast", weights_dir: Path = WEIGHTS_DIR) -> tuple[torch.nn.Module, dict]:
    path = Path(weights_dir) / f"{synth}_{arch}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no trained {arch} weights for the {synth} synth at {path}; run python -m lstmabar.models.matching.train")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = dict(blob["config"])
    num = cfg.pop("num_params")
    if "stride" in cfg:
        cfg["stride"] = tuple(cfg["stride"])
    model = build(blob["arch"], num, **cfg)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    model.eval()
    return model, blob


# The subtractive synth's estimator (``train.py --synth subtractive``): the network whose guess joins the start bank.
SUB_NETWORK = "cnn"


def load_sub_network(arch: str = SUB_NETWORK, weights_dir: Path = WEIGHTS_DIR) -> torch.nn.Module | None:
    """The subtractive synth's trained estimator, or None when its weights are missing or unreadable (the
    search then starts from the analysed guess alone, as it did before there was a network)."""
    import logging
    import pickle

    from .subtractive import SUB_NAMES

    try:
        model, blob = load_network("subtractive", arch, weights_dir)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, EOFError, pickle.UnpicklingError) as e:
        logging.getLogger(__name__).warning("subtractive %s estimator not loaded (%s); starting from the analysed guess", arch, e)
        return None
    if tuple(blob.get("param_names", ())) != SUB_NAMES:
        logging.getLogger(__name__).warning("subtractive %s estimator was trained on other parameters; not used", arch)
        return None
    return model


def trim_leading_silence(x: np.ndarray, sr: int, rel_db: float = -40.0) -> tuple[np.ndarray, float]:
    """Drop what comes before the first 5 ms frame within ``rel_db`` of the loudest frame."""
    hop = max(1, int(sr * 0.005))
    n = len(x) // hop
    if n < 2:
        return x, 0.0
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    thresh = rms.max() * 10 ** (rel_db / 20)
    first = int(np.argmax(rms >= thresh))
    return x[first * hop :], first * hop / sr


@dataclass
class PreparedTarget:
    audio16k: np.ndarray  # (<= NUM_SAMPLES,), float32
    original_seconds: float
    trimmed_seconds: float  # leading silence removed
    truncated: bool  # longer than the 2 s the synth renders


def prepare_target(mono: np.ndarray, sample_rate: int) -> PreparedTarget:
    x = to_feature_rate(np.asarray(mono, dtype=np.float32).reshape(-1), sample_rate)
    orig = len(x) / FEATURE_SR
    x, lead = trim_leading_silence(x, FEATURE_SR)
    truncated = len(x) > NUM_SAMPLES + FEATURE_SR // 20
    return PreparedTarget(np.ascontiguousarray(x[:NUM_SAMPLES], dtype=np.float32), orig, lead, truncated)


@dataclass
class MatchResult:
    synth: str
    normalized: torch.Tensor  # (78,) Voice patch, or (13,) archetype-engine values
    param_names: tuple[str, ...]
    searched: dict[str, float]  # the values the network and the search worked on (normalised 0-1), by name
    audio: np.ndarray  # final render at OUTPUT_SR, mono float32
    metrics: dict[str, float]
    predicted_metrics: dict[str, float]  # the network's prediction (note set from CREPE) before refinement
    pitch: PitchEstimate
    pitch_source: str
    refine: SearchResult | None
    seconds: float
    target: PreparedTarget
    poor: bool
    warnings: list[str] = field(default_factory=list)
    stages: dict = field(default_factory=dict)  # subtractive: which stage won and each stage's loss


class Matcher:
    def __init__(self, synth: str = "voice", arch: str = "cnn", weights_dir: Path = WEIGHTS_DIR, network: torch.nn.Module | None = None,
                 use_network: bool = True) -> None:
        """``arch`` picks the Voice network; the subtractive synth uses ``SUB_NETWORK`` (``network`` overrides
        either), and ``use_network=False`` leaves it out (the analysed guess alone starts the search)."""
        self.synth = synth
        if synth == "voice":
            self.spec: SynthSpec = voice_core_spec()
            self.network = network if network is not None else load_network("voice_core", arch, weights_dir)[0]
        elif synth == "archetype":
            self.spec = archetype_spec()
            self.network = network
        elif synth == "subtractive":
            from .subtractive import SubtractiveSynth

            self.sub_synth = SubtractiveSynth(FEATURE_SR, SECONDS)
            self._sub_out = SubtractiveSynth(OUTPUT_SR, SECONDS)
            self.spec = subtractive_spec(synth=self.sub_synth)
            self.network = (network if network is not None else load_sub_network(SUB_NETWORK, weights_dir)) if use_network else None
        else:
            raise ValueError(f"unknown synth {synth!r}: 'subtractive', 'voice' or 'archetype'")
        self.arch = arch

    # ---------------------------------------------------------------- prediction
    @torch.no_grad()
    def predict(self, audio16k: np.ndarray) -> torch.Tensor:
        """The amortised guess (P,) before pitch fixing and refinement."""
        if self.synth == "subtractive" and self.network is None:
            from .sub_match import analyse

            return analyse(audio16k, None)
        if self.network is not None:
            feats = log_mel(torch.from_numpy(np.asarray(audio16k, dtype=np.float32))[None])
            return self.network(feats)[0].float()
        from lstmabar.models.synth.analysis import estimate_archetypes
        from lstmabar.models.synth.archetype import ARCHETYPES, CONTROL_INDEX, CONTROL_SPECS

        est = estimate_archetypes(audio16k, FEATURE_SR)
        x = torch.full((len(self.spec.param_names),), 0.5)
        x[:5] = torch.tensor([est.weights[a] for a in ARCHETYPES], dtype=torch.float32)
        for name, v in (("cutoff", est.cutoff_hz), ("resonance", est.resonance)):
            if v:
                x[5 + CONTROL_INDEX[name]] = float(CONTROL_SPECS[CONTROL_INDEX[name]].to_normalized(float(v)))
        x[5 + CONTROL_INDEX["attack"]] = float(CONTROL_SPECS[CONTROL_INDEX["attack"]].to_normalized(0.01))
        dur = min(max(len(audio16k) / FEATURE_SR - 0.2, 0.05), 1.8)
        x[5 + CONTROL_INDEX["duration"]] = float(CONTROL_SPECS[CONTROL_INDEX["duration"]].to_normalized(dur))
        return x

    def _note_index_and_spec(self):
        if self.synth == "voice":
            i = CORE_INDEX["keyboard.midi_f0"]
            return i, CORE_PARAMS[i]
        if self.synth == "subtractive":
            from .subtractive import SUB_INDEX, SUB_PARAMS

            i = SUB_INDEX["note.midi"]
            return i, SUB_PARAMS[i]
        from lstmabar.models.synth.archetype import CONTROL_INDEX, CONTROL_SPECS

        j = CONTROL_INDEX["midi_f0"]
        return 5 + j, CONTROL_SPECS[j]

    def note_choice(self, pitch: PitchEstimate, audio16k: np.ndarray) -> NoteChoice:
        """The candidate notes for this target (``notes.note_candidates``, shared by every synth)."""
        _, s_f0 = self._note_index_and_spec()
        return note_candidates(pitch, audio16k, FEATURE_SR, (float(s_f0.minimum), float(s_f0.maximum)))

    def note_candidates(self, pred: torch.Tensor, pitch: PitchEstimate, audio16k: np.ndarray) -> list[tuple[str, torch.Tensor, float]]:
        """Variants of the prediction with the keyboard note set from each candidate note, with their priors
        (the loss is multiplied by the prior when choosing); the network's own note first."""
        choice = self.note_choice(pitch, audio16k)
        cands: list[tuple[str, torch.Tensor, float]] = [("network", pred.clone(), 1.0 if pitch.midi is None else ALTERNATIVE_PRIOR)]
        i_f0, s_f0 = self._note_index_and_spec()
        shift = 0.0
        if self.synth == "voice":
            # the layout's vibrato only bends upwards (a unipolar LFO), so the heard pitch sits half
            # the predicted depth above the note
            iv = CORE_INDEX["vibrato.depth"]
            shift = 0.5 * float(CORE_PARAMS[iv].to_physical(pred[iv]))
        for cand in choice.candidates:
            if cand.midi is None:  # the note-less reading is the network's own
                continue
            c = pred.clone()
            c[i_f0] = float(s_f0.to_normalized(cand.midi - shift))
            cands.append((cand.name, c, cand.prior))
        return cands

    # ---------------------------------------------------------------- the whole match
    def match(
        self,
        mono: np.ndarray,
        sample_rate: int,
        *,
        budget_s: float = 5.0,
        refine: bool = True,
        use_pitch: bool = True,
        seed: int = 0,
        population: int = 24,
        progress: ProgressFn | None = None,
    ) -> MatchResult:
        t0 = time.monotonic()
        report = progress or (lambda f, m: None)
        report(0.0, "preparing the target")
        tgt = prepare_target(mono, sample_rate)
        if len(tgt.audio16k) < FEATURE_SR // 20 or float(np.sqrt(np.mean(tgt.audio16k**2))) < 1e-5:
            raise ValueError("the target is silent or shorter than 50 ms")
        target_t = torch.from_numpy(tgt.audio16k)
        report(0.05, "estimating pitch (CREPE)")
        pitch = estimate_pitch(tgt.audio16k, FEATURE_SR) if use_pitch else PitchEstimate(None, None, 0.0, 0.0, np.zeros(0))
        if self.synth == "subtractive":
            return self._match_subtractive(tgt, pitch, t0, budget_s=budget_s, refine=refine, seed=seed, report=report)
        report(0.15, f"predicting the patch ({self.arch if self.network is not None else 'analysis'})")
        pred = self.predict(tgt.audio16k)
        cands = self.note_candidates(pred, pitch, tgt.audio16k)
        stack = torch.stack([c for _, c, _ in cands])
        with torch.no_grad():
            losses = mr_stft_torch(target_t, self.spec.render(stack, seed))
        losses = torch.where(torch.isfinite(losses), losses, torch.full_like(losses, 1e9))
        # trust the primary reading unless a variant is clearly (10 %) better
        prefer = torch.tensor([prior for _, _, prior in cands])
        k = int(torch.argmin(losses * prefer))
        pitch_source, start = cands[k][0], cands[k][1]
        predicted = start.clone()
        i_f0, _ = self._note_index_and_spec()
        result: SearchResult | None = None
        if refine and budget_s > 0:
            spent = time.monotonic() - t0
            remaining = max(0.0, budget_s - spent - 0.6)  # keep time for the final render and metrics
            fixed = {i_f0: float(start[i_f0])} if pitch.midi is not None or pitch_source != "network" else {}

            def on_gen(gen: int, best: float, elapsed: float) -> None:
                report(0.2 + 0.7 * min(1.0, elapsed / max(remaining, 1e-6)), f"refining: generation {gen}, MR-STFT {best:.3f}")

            result = cma_refine(self.spec.render, target_t, start, budget_s=remaining, population=population, fixed=fixed, seed=seed, on_generation=on_gen)
            best = result.params
        else:
            best = start
        report(0.92, "rendering the match")
        full = self.full_patch(best)
        out = self.render_output(full, seed=seed)
        out16 = to_feature_rate(out, OUTPUT_SR)
        pred16 = self.spec.render(predicted[None], seed)[0].numpy()
        metrics = all_metrics(tgt.audio16k, out16, FEATURE_SR)
        pmetrics = all_metrics(tgt.audio16k, pred16, FEATURE_SR)
        warnings = self._warnings(tgt, pitch)
        poor = metrics["spectral_convergence"] > POOR_SPECTRAL_CONVERGENCE or metrics["mr_stft"] > POOR_MR_STFT
        report(1.0, "done")
        return MatchResult(
            synth=self.synth,
            normalized=full,
            param_names=self.full_names(),
            searched={n: float(v) for n, v in zip(self.spec.param_names, best)},
            audio=out,
            metrics=metrics,
            predicted_metrics=pmetrics,
            pitch=pitch,
            pitch_source=pitch_source,
            refine=result,
            seconds=time.monotonic() - t0,
            target=tgt,
            poor=poor,
            warnings=warnings,
        )

    def _match_subtractive(self, tgt: PreparedTarget, pitch: PitchEstimate, t0: float, *, budget_s: float, refine: bool,
                           seed: int, report: ProgressFn) -> MatchResult:
        from .sub_match import analyse, match_subtractive

        report(0.15, "measuring the first guess (envelope, brightness, note)" + (" and the network's" if self.network is not None else ""))
        target_t = torch.from_numpy(tgt.audio16k)
        choice = self.note_choice(pitch, tgt.audio16k)
        # a sure reading is used as it is; an uncertain one lets the search try each candidate note first
        candidates = choice.candidates if choice.uncertain else choice.candidates[:1]
        sub = None
        note_midi, note_source = pitch.midi, ("crepe" if pitch.midi is not None else "analysis")
        if refine and budget_s > 0:
            network_guess = None
            if self.network is not None:  # inside the budget: the search gets what is left after it
                with torch.no_grad():
                    network_guess = self.network(log_mel(target_t[None]))[0].float()
            remaining = max(0.0, budget_s - (time.monotonic() - t0) - 0.8)  # final 48 kHz render and metrics

            def on_gen(gen: int, best: float, elapsed: float) -> None:
                report(0.2 + 0.5 * min(1.0, elapsed / max(remaining, 1e-6)), f"refining: CMA-ES generation {gen}, loss {best:.3f}")

            sub = match_subtractive(self.sub_synth, tgt.audio16k, pitch.midi, budget_s=remaining, seed=seed, on_generation=on_gen,
                                    candidates=candidates, network_guess=network_guess)
            best = sub.params
            if candidates[0].name != "none" or len(candidates) > 1:
                note_midi, note_source = sub.note_midi, (sub.note_source if sub.note_midi is not None else "analysis")
        guess = analyse(tgt.audio16k, note_midi)
        if sub is None:
            best = guess
        report(0.92, "rendering the match")
        with torch.no_grad():
            start_mr, end_mr = (float(v) for v in mr_stft_torch(target_t, self.sub_synth.render(torch.stack([guess, best]), seed)))
        result = None
        if sub is not None:
            cma = sub.cma
            result = SearchResult(best, end_mr, start_mr, (cma.evaluations if cma else 0) + sub.grad_steps, (cma.generations if cma else 0) + sub.grad_steps,
                                  time.monotonic() - t0, cma.history if cma else [])
        out = self.render_output(best, seed=seed)
        out16 = to_feature_rate(out, OUTPUT_SR)
        metrics = all_metrics(tgt.audio16k, out16, FEATURE_SR)
        pmetrics = all_metrics(tgt.audio16k, self.sub_synth.render(guess[None], seed)[0].numpy(), FEATURE_SR)
        poor = metrics["spectral_convergence"] > POOR_SPECTRAL_CONVERGENCE or metrics["mr_stft"] > POOR_MR_STFT
        report(1.0, "done")
        return MatchResult(
            synth=self.synth, normalized=best.detach().clone(), param_names=self.full_names(),
            searched={n: float(v) for n, v in zip(self.spec.param_names, best)}, audio=out, metrics=metrics,
            predicted_metrics=pmetrics, pitch=pitch, pitch_source=note_source,
            refine=result, seconds=time.monotonic() - t0, target=tgt, poor=poor, warnings=self._warnings(tgt, pitch),
            stages={"winner": sub.winner if sub else "analysis", "gradient_steps": sub.grad_steps if sub else 0,
                    "bank_loss": sub.bank_loss if sub else None, "cma_loss": sub.cma.loss if sub and sub.cma else None,
                    "gradient_loss": sub.grad_loss if sub else None, "renders": sub.renders if sub else 2,
                    "analysis_loss": sub.analysis_loss if sub else None, "network_loss": sub.network_loss if sub else None,
                    "network": SUB_NETWORK if self.network is not None and sub is not None else None,
                    "start_winner": sub.start_winner if sub else "analysis",
                    "note_candidates": [c.name for c in candidates]},
        )

    def full_patch(self, searched: torch.Tensor) -> torch.Tensor:
        """The synth's own normalised values for a point of the search space (Voice: 16 -> 78)."""
        x = searched.detach().float().clone()
        return expand(x) if self.synth == "voice" else x

    def full_names(self) -> tuple[str, ...]:
        if self.synth == "voice":
            from lstmabar.models.synth.params import VOICE_PARAMS

            return tuple(p.name for p in VOICE_PARAMS)
        return self.spec.param_names

    def render_output(self, normalized: torch.Tensor, *, seed: int = 0, midi: float | None = None) -> np.ndarray:
        """Render a full patch (``full_patch``) at the output rate; ``midi`` plays it at another key."""
        with torch.no_grad():
            if self.synth == "subtractive":
                return self._sub_out.render(normalized.float()[None], seed, midi=midi)[0].numpy().astype(np.float32)
            if midi is not None:
                i, spec = self._full_note_index()
                normalized = normalized.detach().clone()
                normalized[i] = float(spec.to_normalized(float(midi)))
            if self.synth == "voice":
                from lstmabar.models.synth.patch import Patch

                return Patch.from_normalized(normalized).render(sample_rate=OUTPUT_SR, seconds=SECONDS, seed=seed).astype(np.float32)
            from lstmabar.models.synth.archetype import ArchetypeParams, render_archetypes

            p = ArchetypeParams.from_normalized(normalized[None])
            return render_archetypes(p, sample_rate=OUTPUT_SR, seconds=SECONDS, seed=seed)[0].numpy().astype(np.float32)

    def _full_note_index(self):
        """(index, ParamSpec) of the keyboard note in a full patch."""
        if self.synth == "voice":
            from lstmabar.models.synth.params import PARAM_INDEX, VOICE_PARAMS

            return PARAM_INDEX["keyboard.midi_f0"], VOICE_PARAMS[PARAM_INDEX["keyboard.midi_f0"]]
        return self._note_index_and_spec()

    def physical(self, normalized: torch.Tensor) -> dict[str, dict]:
        """Physical units of a full patch (``MatchResult.normalized``)."""
        if self.synth == "subtractive":
            from .subtractive import physical_dict

            return physical_dict(normalized)
        if self.synth == "voice":
            from lstmabar.models.synth.patch import Patch

            return Patch.from_normalized(normalized).physical()
        from lstmabar.models.synth.archetype import ArchetypeParams

        return ArchetypeParams.from_normalized(normalized[None]).physical(0)

    @staticmethod
    def _warnings(tgt: PreparedTarget, pitch: PitchEstimate) -> list[str]:
        w = []
        if tgt.truncated:
            w.append(f"the target lasts {tgt.original_seconds:.1f} s; only its first {SECONDS:.0f} s (after leading silence) were matched")
        if pitch.midi is None:
            w.append("no clear pitch was found (noise-like, very inharmonic or polyphonic sound); the note comes from the network alone")
        elif pitch.voiced_fraction < 0.5:
            w.append(f"pitch is clear in only {100 * pitch.voiced_fraction:.0f} % of the sound (a melody, chord or noisy passage?); the synth plays one note")
        return w
