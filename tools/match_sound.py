"""match_sound: find the synth patch that reproduces a given sound (seed 002, plus pitch and refinement)."""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

import numpy as np
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.audio_input import AudioInput, load_audio_input
from lstmabar.library.audio_io import preview_wav
from lstmabar.library.descriptors import compare
from lstmabar.library.descriptors import describe as measure
from lstmabar.library.descriptors import summary as in_words
from lstmabar.library.errors import AudioInputError, ToolError
from lstmabar.library.images import spectrogram_png

from .base import Seed, SoundOut, ToolContext, ToolOutcome, ToolSpec
from .budget import Timing, budget_field_description

TOOL_NAME = "match_sound"
MAX_INPUT_SECONDS = 30.0
# 8 s for the whole call: the matching pipeline gets about the 5 s its model card measured, after loading,
# and the spectrogram and saving (about 1.5 s on an idle 2-core machine) fit after it.
DEFAULT_BUDGET_S = 8.0
FINISH_RESERVE_S = 1.5  # the least kept for the finishing step; FINISH keeps what this process measured
INSTRUMENT_RESERVE_S = 3.0


class FinishReserve:
    """The seconds kept after the match for the spectrogram, the descriptions and saving: the slowest of this
    process's last ``keep`` finishing steps, never under ``floor``. A fixed figure measured idle falls short under
    load (3.8 s against 1.5 s at load 6-7 on 2 cores), and every second of overrun is past the caller's budget."""

    def __init__(self, floor: float, keep: int = 5) -> None:
        self.floor = float(floor)
        self._recent: deque[float] = deque(maxlen=keep)

    def seconds(self) -> float:
        return max([self.floor, *self._recent])

    def record(self, seconds: float) -> None:
        self._recent.append(float(seconds))


FINISH = FinishReserve(FINISH_RESERVE_S)


class Input(BaseModel):
    audio: AudioInput = Field(description="The sound to imitate: a library sound_id, an allowed path, a URL or base64 bytes. Only its first 2 s (after leading silence) are matched.")
    synth: Literal["subtractive", "voice", "archetype"] = Field(
        "subtractive",
        description="'subtractive' (default): a filtered synth made for real instruments (saw/square/triangle/sine mix, noise, resonant "
        "low-pass with key tracking and its own envelope, amplitude envelope, two body resonances; 25 parameters), matched from a "
        "measured first guess with CMA-ES and then gradient descent; 'voice': the modular Voice synth through 16 audible parameters of "
        "a two-oscillator layout (no filter; the full 78-parameter patch is returned); 'archetype': the five-archetype engine.",
    )
    network: Literal["cnn", "ast", "mlp"] = Field("cnn", description="For synth='voice': the network that makes the first guess: 'cnn' (seed 002's CNN baseline, the most accurate at our training scale, so the default), 'ast' (audio spectrogram transformer, seed 002's method) or 'mlp'.")
    time_budget_s: float = Field(
        DEFAULT_BUDGET_S, ge=1.0, le=600.0,
        description=budget_field_description(DEFAULT_BUDGET_S, "the refinement gets the time left after the network's guess and") + " refine=false skips the refinement.",
    )
    refine: bool = Field(True, description="Refine the network's guess with CMA-ES on a multi-resolution STFT loss.")
    use_pitch: bool = Field(True, description="Set the keyboard note from the target's f0 (CREPE) instead of trusting the network alone.")
    seed: Seed = Field(0, description="Seed for the refinement and the synth's noise.")
    name: str | None = Field(None, max_length=200, description="Optional label for the matched sound.")
    instrument: bool = Field(False, description="Also write a playable SFZ instrument: the matched patch rendered every 3 semitones from C1 to C8 "
                             "(one-shot samples with their own release) plus the .sfz, zipped into the library's instruments folder. Adds about 2-4 s.")


class InstrumentOut(BaseModel):
    path: str = Field(description="The zip: NAME.sfz and samples/*.wav (24-bit, 48 kHz); unzip it and load the .sfz in an SFZ sampler (e.g. sfizz).")
    sfz: str = Field(description="The .sfz file's name inside the zip.")
    keys: list[int] = Field(description="The MIDI notes rendered (each region spans the keys nearest it).")


class MatchMetrics(BaseModel):
    spectral_convergence: float = Field(description="||S - S_hat||_F / ||S||_F on magnitude spectrograms (0 perfect; seed 002's AST: 0.616 on its own synth).")
    log_spectral_distance_db: float = Field(description="Log-spectral distance in dB (lower is better).")
    mfcc_l1: float = Field(description="Mean absolute MFCC difference (lower is better).")
    mr_stft: float = Field(description="Multi-resolution STFT loss (spectral convergence + log-magnitude L1 at 3 resolutions; lower is better).")


class PitchOut(BaseModel):
    f0_hz: float | None
    midi: float | None
    confidence: float = Field(description="CREPE periodicity of the voiced frames (0-1).")
    voiced_fraction: float = Field(description="Share of the non-silent frames with a clear pitch.")
    note_source: str = Field(description="Which note setting won: 'crepe', 'crepe-12'/'crepe+12' (octave), or 'network'.")


class Output(BaseModel):
    sound: SoundOut = Field(description="The matched sound, stored with the target as its parent.")
    target: SoundOut | None = Field(None, description="The target as imported into the library (when it was not there yet).")
    target_id: str
    synth: str
    patch: dict[str, dict[str, Any]] = Field(description="The whole matched patch in physical units ({name: {value, unit}}): the 25 subtractive parameters, all 78 Voice parameters, or for 'archetype' the five weight.* shares first, then the engine's controls.")
    searched: dict[str, float] = Field(description="The parameters the search refined, normalised 0-1 (subtractive: all 25; Voice: the 16 audible parameters of a two-oscillator layout; the rest of the patch is fixed by that layout).")
    weights: dict[str, float] | None = Field(None, description="For synth='archetype': the five archetype weights.")
    metrics: MatchMetrics = Field(description="Target vs match, after refinement.")
    network_metrics: MatchMetrics = Field(description="Target vs the first guess before refinement (Voice/archetype: the network's, note from CREPE; subtractive: the one measured from the target).")
    pitch: PitchOut
    refinement: dict[str, float] = Field(description="start and final MR-STFT, generations, evaluations, seconds.")
    seconds: float
    poor_match: bool = Field(description="True when spectral convergence or MR-STFT is above the level where matches stop sounding alike.")
    warnings: list[str]
    target_description: str = Field("", description="The matched 2 s of the target in words (library.descriptors, as describe_sound): note, strongest words, loudness.")
    match_description: str = Field("", description="The match in the same words.")
    differences: list[str] = Field(default_factory=list, description="How the match differs from the target beyond each descriptor's noticeable step, e.g. 'darker (centroid 2.1 kHz -> 1.2 kHz)'.")
    instrument: InstrumentOut | None = Field(None, description="The playable SFZ instrument when instrument=true.")
    timing: Timing = Field(description="How the time budget was spent: stages, refinement generations, whether the budget cut the refinement short.")


def _metrics(d: dict[str, float]) -> MatchMetrics:
    return MatchMetrics(**{k: round(float(v), 4) for k, v in d.items()})


def get_matcher(ctx: ToolContext, synth: str, network: str = "cnn"):
    from lstmabar.models.matching.matcher import Matcher

    def factory():
        try:
            matcher = Matcher(synth, arch=network)
        except FileNotFoundError as exc:
            raise ToolError(f"match_sound is not ready for the {synth} synth: {exc}") from exc
        _warm_up(matcher)
        return matcher

    key = f"matcher:{synth}:{network}" if synth == "voice" else f"matcher:{synth}"
    return ctx.models.get(key, factory)


def _warm_up(matcher) -> None:
    """The first MFCC imports librosa and compiles its kernels (about 4 s), the first 48 kHz render sets
    the synth up, and the first spectrogram and description draw matplotlib's figure and run pYIN for the
    first time (about 4 s of the 7.2 s first finishing step measured at load 6-7): pay that once while
    loading, not inside the time given to a match."""
    from lstmabar.models.matching.metrics import all_metrics

    x = (0.1 * np.sin(np.linspace(0.0, 2000.0, 16_000))).astype(np.float32)
    all_metrics(x, x, 16_000)
    out = matcher.render_output(matcher.full_patch(matcher.predict(x)))
    spectrogram_png([("target", x, 16_000), ("match", out, 48_000)])
    compare(measure(x, 16_000, psychoacoustic=False), measure(out, 48_000, psychoacoustic=False))
    if matcher.synth == "subtractive":  # the first backward pass sets autograd up
        import torch

        from lstmabar.models.matching.metrics import match_loss_torch

        p = matcher.predict(x).requires_grad_(True)
        match_loss_torch(torch.from_numpy(x), matcher.sub_synth.render(p[None], 0))[0].backward()


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    from lstmabar.models.matching.matcher import OUTPUT_SR, POOR_MR_STFT, POOR_SPECTRAL_CONVERGENCE

    budget = ctx.budget(inp.time_budget_s)
    try:
        loaded = load_audio_input(inp.audio, ctx.library, ctx.config, mono=True, max_seconds=MAX_INPUT_SECONDS)
    except AudioInputError as exc:
        raise ToolError(str(exc)) from exc
    mono = loaded.audio.samples[0]
    sr = loaded.audio.sample_rate
    if len(mono) < sr // 20 or float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) < 1e-5:
        raise ToolError("The target is silent or shorter than 50 ms; send a sound with audible content.")
    ctx.progress(0, 100, "loading the matcher", force=True)
    matcher = get_matcher(ctx, inp.synth, inp.network)
    budget.lap("load")

    def progress(frac: float, message: str) -> None:
        ctx.progress(round(5 + 90 * frac, 1), 100, message)

    try:
        # match() counts its own time from here; what comes after it (image, saving) is kept aside
        reserve = FINISH.seconds() + (INSTRUMENT_RESERVE_S if inp.instrument else 0.0)
        res = matcher.match(mono, sr, budget_s=max(0.0, budget.remaining() - reserve), refine=inp.refine,
                            use_pitch=inp.use_pitch, seed=inp.seed, progress=progress)
    except ValueError as exc:
        raise ToolError(f"Cannot match this sound: {exc}.") from exc
    ctx.check_cancelled()
    budget.lap("match")
    refine_s = res.refine.seconds if res.refine is not None else 0.0
    budget.stages["match"] -= refine_s
    budget.stages["refine"] = refine_s
    budget.stages["pitch_guess_and_final_render"] = budget.stages.pop("match")
    budget.add_work(renders=res.refine.evaluations if res.refine is not None else 0, generations=res.refine.generations if res.refine is not None else 0)
    ctx.progress(96, 100, "drawing the spectrogram and saving")

    zipped = None
    if inp.instrument:
        from lstmabar.library.sfz import DEFAULT_KEYS, build_sfz_zip

        ctx.progress(93, 100, "rendering the instrument across the keyboard")
        label = inp.name or f"match of {loaded.label}"
        zipped = build_sfz_zip(lambda key: matcher.render_output(res.normalized, seed=inp.seed, midi=float(key)), OUTPUT_SR, label, DEFAULT_KEYS)
        budget.lap("instrument")
        ctx.check_cancelled()

    # Everything is final: store the target (if new) and the match.
    target_rec = None
    if loaded.sound_id:
        target_id = loaded.sound_id
    else:
        target_rec = ctx.library.add(loaded.audio.samples, sr, tool="import_sound", prompt=inp.name, params={"source": loaded.label})
        target_id = target_rec.id
    physical = matcher.physical(res.normalized)
    weights = None
    if inp.synth == "archetype":
        weights = {k.split(".", 1)[1]: float(v["value"]) for k, v in physical.items() if k.startswith("weight.")}
    ref = res.refine
    refinement = {
        "start_mr_stft": round(ref.start_loss, 4) if ref else round(res.predicted_metrics["mr_stft"], 4),
        "final_mr_stft": round(ref.loss, 4) if ref else round(res.predicted_metrics["mr_stft"], 4),
        "generations": float(ref.generations if ref else 0),
        "evaluations": float(ref.evaluations if ref else 0),
        "seconds": round(ref.seconds, 3) if ref else 0.0,
    }
    rec = ctx.library.add(
        res.audio[None, :],
        OUTPUT_SR,
        tool=TOOL_NAME,
        prompt=inp.name or f"match of {loaded.label}",
        params=physical,
        parents=[target_id],
        scores={k: round(float(v), 5) for k, v in res.metrics.items()},
        extra={
            "synth": inp.synth,
            "patch_normalized": [round(float(v), 6) for v in res.normalized],
            "network_metrics": {k: round(float(v), 5) for k, v in res.predicted_metrics.items()},
            "pitch_source": res.pitch_source,
            "poor_match": res.poor,
            "seed": inp.seed,
        },
    )
    instrument = None
    if zipped is not None:
        from lstmabar.library.sfz import DEFAULT_KEYS, _safe, write_sfz_zip

        path = write_sfz_zip(ctx.config.output_dir / "instruments" / f"{rec.id}.zip", zipped)
        instrument = InstrumentOut(path=str(path), sfz=f"{_safe(inp.name or f'match of {loaded.label}')}.sfz", keys=list(DEFAULT_KEYS))
    target_mono = res.target.audio16k
    png = spectrogram_png([(f"target ({loaded.label})", target_mono, 16_000), (f"match ({inp.synth})", res.audio, OUTPUT_SR)])
    # the matched 2 s of the target and the match, measured and compared the way describe_sound does
    d_target, d_match = measure(target_mono, 16_000, psychoacoustic=False), measure(res.audio, OUTPUT_SR, psychoacoustic=False)
    differences = [d.evidence for d in compare(d_target, d_match)]
    m = res.metrics
    pitch_txt = (
        f"synth keyboard at {res.pitch.f0_hz:.1f} Hz (MIDI {res.pitch.midi:.1f}, set by {res.pitch_source})"
        if res.pitch.f0_hz
        else "no clear pitch for the synth keyboard"
    )
    verdict = (
        f"POOR MATCH: spectral convergence {m['spectral_convergence']:.2f} (flag above {POOR_SPECTRAL_CONVERGENCE}) / "
        f"MR-STFT {m['mr_stft']:.2f} (flag above {POOR_MR_STFT}); the synth cannot reproduce this sound closely, treat the patch as a starting point."
        if res.poor
        else f"Match quality: spectral convergence {m['spectral_convergence']:.2f}, MR-STFT {m['mr_stft']:.2f}."
    )
    extra = (" Warnings: " + "; ".join(res.warnings) + ".") if res.warnings else ""
    summary = (
        f"Matched {loaded.label} on the {inp.synth} synth as {rec.id} (parent {target_id}) in {res.seconds:.1f} s; {pitch_txt}. "
        f"{verdict} Refinement took MR-STFT from {refinement['start_mr_stft']:.3f} to {refinement['final_mr_stft']:.3f} "
        f"in {int(refinement['generations'])} generations.{extra} Target: {in_words(d_target)}. Match: {in_words(d_match)}."
        + (f" Against the target the match is {', '.join(differences[:5])}." if differences else "")
    )
    if res.stages:
        summary += stages_text(res.stages)
        refinement["gradient_steps"] = float(res.stages.get("gradient_steps") or 0)
    if weights:
        summary += " Archetype weights: " + ", ".join(f"{k} {v:.2f}" for k, v in weights.items()) + "."
    out = Output(
        sound=SoundOut.of(rec),
        target=SoundOut.of(target_rec) if target_rec else None,
        target_id=target_id,
        synth=inp.synth,
        patch=physical,
        searched={k: round(float(v), 5) for k, v in res.searched.items()},
        weights=weights,
        metrics=_metrics(res.metrics),
        network_metrics=_metrics(res.predicted_metrics),
        pitch=PitchOut(
            f0_hz=round(res.pitch.f0_hz, 3) if res.pitch.f0_hz else None,
            midi=round(res.pitch.midi, 3) if res.pitch.midi else None,
            confidence=round(res.pitch.confidence, 4),
            voiced_fraction=round(res.pitch.voiced_fraction, 4),
            note_source=res.pitch_source,
        ),
        refinement=refinement,
        seconds=round(res.seconds, 3),
        poor_match=res.poor,
        warnings=res.warnings,
        target_description=in_words(d_target),
        match_description=in_words(d_match),
        differences=differences,
        instrument=instrument,
        timing=_finish_timing(budget, inp, res),
    )
    if out.timing.stopped_early:
        summary += " " + out.timing.note
    sounds = [rec] + ([target_rec] if target_rec else [])
    return ToolOutcome(output=out, summary=summary, audio_previews=[preview_wav(res.audio[None, :], OUTPUT_SR)], images=[png], sounds=sounds)


def stages_text(st: dict) -> str:
    """The subtractive search's stages for the summary: each stage's loss, the start the search took (the
    measured guess, the estimator network's or a random one) and the stage kept ('' when no search ran)."""
    if st.get("bank_loss") is None:
        return ""
    guesses = {"analysis": ("the measured guess", st.get("analysis_loss"))}
    if st.get("network") is not None and st.get("network_loss") is not None:
        guesses["network"] = (f"the {st['network']} network's guess", st["network_loss"])
    start = st.get("start_winner")
    others = ", ".join(f"{name} {loss:.3f}" for key, (name, loss) in guesses.items() if key != start and loss is not None)
    started = (f"; started from {guesses[start][0] if start in guesses else 'a random start of the bank'} (loss {st['bank_loss']:.3f}"
               + (f"; {others})" if others else ")")
               + ("" if st.get("network") is not None else "; no estimator network was loaded (its weights are missing or unreadable)"))
    return (f" Stages (loss = MR-STFT + loudness envelope): start bank {st['bank_loss']:.3f}"
            + (f", CMA-ES {st['cma_loss']:.3f}" if st.get("cma_loss") is not None else "")
            + (f", gradient ({st['gradient_steps']} steps) {st['gradient_loss']:.3f}" if st.get("gradient_loss") is not None else "")
            + f"{started}; kept: {st['winner']}.")


def _finish_timing(budget, inp: Input, res) -> Timing:
    budget.lap("image_and_save")
    FINISH.record(budget.stages["image_and_save"])
    if inp.refine and (res.refine is None or res.refine.generations == 0):
        budget.stop_early(
            f"The {inp.time_budget_s:g} s budget left no time to refine the network's guess"
            + (f" ({budget.begun - budget.start:.1f} s went waiting for a worker)" if budget.begun - budget.start > 1 else "")
            + "; raise time_budget_s for a closer match."
        )
    return budget.timing()


TOOL = ToolSpec(
    name=TOOL_NAME,
    title="Match a sound on the synth",
    description=(
        "Find the synth patch that best reproduces a given sound. By default (synth='subtractive') a filtered synth made for real "
        "instruments (oscillator mix, noise, resonant low-pass with key tracking and its own envelope, amplitude envelope, two body "
        "resonances): CREPE sets the note, the envelope and brightness are measured, a CNN trained on the synth's renders makes a second "
        "guess at that note (the search starts from whichever start scores best; the summary says which), then CMA-ES and gradient descent refine the patch "
        "on a multi-resolution STFT + loudness-envelope loss. synth='voice' is seed 002's sound matching on the Voice synth (a network "
        "trained on synth renders, a CNN by default or the AST with network='ast', predicts 16 audible parameters of a two-oscillator "
        "layout; CMA-ES refines them). instrument=true also writes a playable SFZ instrument (the patch across the keyboard). Returns the patch with units, the "
        "matched sound (stored with the target as its parent), match metrics, a 'poor_match' flag and a target-vs-match "
        "spectrogram. synth='archetype' fits the five-archetype engine instead and returns its five weights. "
        "Works best on single synth-like notes; speech, birdsong, polyphonic music and sounds longer than 2 s match "
        "poorly (flagged), and noise only in broad colour. Answers within time_budget_s (default 8 s); for a longer "
        "refinement use start_job."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    long_running=True,
)
