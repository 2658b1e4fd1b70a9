"""synthesize_from_text: CTAG. Search the Voice synth's 78 parameters so that the sound matches a
text prompt under a text-audio embedder, and return a few different results with their patches.

CTAG's fitness is cosine(embed_audio(render(patch)), embed_text(prompt)); a small embedder is easy
to please that way without meeting the prompt (issue 18). So the prompt is first turned into a
sound brief (``models.brief``: measurable targets such as a register or note, brightness,
noisiness, attack, length, sustain or decay, pitch and level movement, each with a tolerance, a
confidence and the data behind it), the parameters that set a target directly (the note, the key
time) are set rather than searched, and the fitness is the cosine minus a penalty per unmet target
(``models.search.brief_fitness``). The results are measured with the full ``library.descriptors``
describe and each target is reported as met or not, with a held-out view (the archetype head) that
shows how much the search exploited the embedder. ``brief_weight=0`` gives CTAG's plain fitness.

Each generation is rendered, embedded and measured as one batch. The search is SNES (default),
CMA-ES or random search; budgets in evaluations and seconds, early stopping, a seed.
``start_from`` continues from a library sound's patch with a smaller spread, so a conversation can
refine a sound step by step (lineage recorded); the brief is then relative to the start sound
("darker", "an octave higher") and keeps what the prompt does not mention. ``keep`` and ``fix``
hold parameters still (pitch and note length through ``midi_note`` and ``note_seconds``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, field_validator

from lstmabar.library.audio_io import preview_wav
from lstmabar.library.descriptors import compare
from lstmabar.library.descriptors.envelope import AM_MIN_S
from lstmabar.library.errors import ToolError
from lstmabar.library.images import spectrogram_png
from lstmabar.models.brief import Brief, Target, check, distance, parse_brief
from lstmabar.models.brief.moves import OVERRIDES, moves
from lstmabar.models.brief.parse import MAX_RENDER_S
from lstmabar.models.brief.reader import ChangeName
from lstmabar.models.brief.program import vibrato_rate, wobble_rate
from lstmabar.models.embedders.base import Embedder
from lstmabar.models.reward.guidance import GuidedObjective, load_reward, reward_status
from lstmabar.models.search import ParamSpace, make_strategy, run_search, select_diverse
from lstmabar.models.search.brief_fitness import BriefObjective, judged_miss, measure_batch, needed_groups, needed_keys, on_loop_scale, penalty
from lstmabar.models.search.describe import describe, words_for
from lstmabar.models.search.objective import TextAudioObjective
from lstmabar.models.search.views import ViewReport, archetype_agreement, exploitation
from lstmabar.models.synth.params import NUM_PARAMS, PARAM_INDEX, VOICE_PARAMS
from lstmabar.models.synth.patch import Patch
from lstmabar.models.synth.sounds import OUTPUT_RATE, cached_voice, render_final, score_audio, stored_patch
from lstmabar.models.synth.voice import Voice

from .base import Seed, SoundOut, ToolContext, ToolOutcome, ToolSpec
from .budget import Timing, budget_field_description

TOOL_NAME = "synthesize_from_text"

# Defaults chosen on this project's 2-core CPU with the default embedder: see docs/benchmarks.md
# (section "synthesize"). With the brief most targets are met within a few generations (the brief sets
# what it can); on the tuning prompts a 10 s search met every demand as often as a 25 s one (18/19
# against 17/19, a busy machine), and an 8.5 s one as often as a 10 s one (19/19 both, mean cosine 0.438
# against 0.436, interleaved at load ~5.5; section "synthesize_budget"). The search stops at 8.5 s: on the idle
# machine a default call took 10.6 s with 10 s (docs/results/tool_speed.json), so about 9.1 s is expected.
DEFAULT_POPULATION = 50
DEFAULT_EVALUATIONS = 5000
DEFAULT_SECONDS = 8.5
DEFAULT_PATIENCE = 20
# 30 s for the whole call: an upper bound for a busy machine (the search stops sooner when the budget
# would be overrun, so the answer still comes within it).
DEFAULT_BUDGET_S = 30.0
FINISH_RESERVE_S = 3.0  # the final renders, scores, images and saving: this plus 0.5 s per result
SHORTLIST = 8  # with a brief: results rendered and checked with the full describe before the k best are kept
# a refinement also puts on the shortlist the start with the brief's settings ("do only what was asked"), its best
# one-knob move under the loop's fitness and the move nearest the brief: the search samples around them with every
# free knob moved, and the loop's audio pitch (YIN on a few frames) can misjudge a sound that pYIN, the judge, hears right
START_MOVES = 3  # moves on the shortlist (each is one more full describe, about 0.13 s)
DESCRIBE_S = 0.13


class Input(BaseModel):
    prompt: str = Field(min_length=1, max_length=500, description="What the sound should be, e.g. 'warm evolving pad', 'glassy bell', 'dog barking', or for a refinement 'darker', 'slower attack'.")
    k: int = Field(3, ge=1, le=8, description="How many different results to return (1-8); they are chosen to differ from one another.")
    start_from: str | None = Field(None, description="ID of a library sound with a Voice patch (e.g. an earlier result of this tool): the search starts from its patch with a smaller spread, so the new prompt refines it.")
    spread: float = Field(0.1, gt=0.0, le=0.5, description="With start_from: the search's initial spread in normalised parameter units (0.05 = small nudge, 0.3 = wide).")
    keep: list[str] = Field(default_factory=list, description="Parameter names to hold at the start_from sound's values, e.g. ['keyboard.midi_f0', 'keyboard.duration']; 'pitch' and 'duration' are accepted as short names.")
    fix: dict[str, float] = Field(default_factory=dict, description="Parameters to hold at given physical values (in their units, see the patch), e.g. {'vco_2.shape': 1.0}.")
    midi_note: float | None = Field(None, ge=0, le=127, description="Hold the pitch at this MIDI note (60 = middle C).")
    note_seconds: float | None = Field(None, ge=0.01, le=4.0, description="Hold the note-on time (key held) at this many seconds.")
    seconds: float = Field(2.0, ge=0.25, le=MAX_RENDER_S, description="Length of the rendered sound (CTAG uses 2 s).")
    method: Literal["snes", "cmaes", "random"] = Field("snes", description="Search strategy: snes (separable natural ES, default), cmaes, or random (baseline).")
    population: int = Field(DEFAULT_POPULATION, ge=4, le=256, description="Candidates per generation (CTAG: 50).")
    max_evaluations: int = Field(DEFAULT_EVALUATIONS, ge=4, le=100_000, description="Budget in synth renders (CTAG's full budget: 300 generations x 50 = 15000).")
    max_seconds: float | None = Field(DEFAULT_SECONDS, gt=0, le=3600, description="Budget in wall-clock seconds (null: evaluations only).")
    patience: int | None = Field(DEFAULT_PATIENCE, ge=1, le=1000, description="Stop early after this many generations without a gain of 0.001 in the best score (null: never).")
    seed: Seed = Field(0, description="Seed for the search and the synth's noise; the same inputs give the same sounds.")
    embedder: str | None = Field(None, description="Text-audio embedder to score with ('lstmabar' default, 'clap' when configured).")
    feedback_weight: float = Field(0.0, ge=0.0, le=5.0, description="Weight of the reward model learnt from people's ratings (rate_feedback), added to the search fitness and used to rerank the results; 0 = off. Try 0.1-0.5. Used only when a reward model trained with the same embedder exists.")
    anchor_weight: float = Field(0.0, ge=0.0, le=2.0, description="Experimental: search for cos(sound, prompt) - anchor_weight * cos(sound, anchor) instead of CTAG's plain cosine, to avoid generic sounds the embedder rates close to every prompt (see docs/benchmarks.md, synthesize_anchor). 0 = plain CTAG fitness.")
    anchor: str = Field("a sound", max_length=200, description="The generic text used with anchor_weight.")
    change: list[ChangeName] = Field(default_factory=list, max_length=6, description="With start_from: the changes to make, by name, e.g. ['darker', 'slower attack'] for 'hmm, too shiny, and ease it in'. They replace what the brief reads from the prompt's words (numbers and pitch steps in the prompt still count: 'a fifth up' with ['higher'] moves a fifth). Use it when you have read the conversation and know the request; leave it empty to let the tool read the prompt. Each named change moves its quality by a noticeable step from the start sound and keeps the rest.")
    brief_weight: float = Field(1.0, ge=0.0, le=5.0, description="Weight of the sound brief: the prompt's measurable demands (note or register, brightness, noisiness, attack, length, sustain/decay, pitch and level movement) become targets, the note and key time are set directly, and every unmet target costs fitness. 0 = CTAG's plain cosine fitness (the brief is still reported and checked).")
    time_budget_s: float = Field(DEFAULT_BUDGET_S, ge=1.0, le=1800.0, description=budget_field_description(DEFAULT_BUDGET_S, "the search (also bounded by max_seconds)"))

    @field_validator("prompt")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("prompt is empty")
        return v


class TargetResult(BaseModel):
    aspect: str
    descriptor: str
    target: str = Field(description="The range asked, e.g. 'centroid_hz <= 570 Hz'.")
    measured: float | None = Field(None, description="The returned sound's value (library.descriptors.describe, pYIN for pitch).")
    met: bool
    kept: bool = Field(False, description="True for a refinement's keep target (something the prompt did not ask to change).")
    confidence: float
    note: str = Field("", description="When not met: how far off, and whether the search ever reached it.")


class Candidate(BaseModel):
    rank: int
    sound: SoundOut
    score: float = Field(description="Cosine similarity of the saved sound to the prompt under the embedder.")
    fitness: float = Field(description="What the search maximised for this sound: the cosine minus the brief's penalty (plus the reward term when used).")
    targets_met: int = Field(0, description="How many of the brief's targets the sound meets (measured with the full describe).")
    targets: list[TargetResult] = Field(default_factory=list, description="Each brief target: measured value and whether it is met.")
    description: str = Field(description="Measured character of the sound (pitch, brightness, noisiness, envelope).")
    descriptors: dict[str, Any]
    patch: dict[str, dict[str, Any]] = Field(description="All 78 Voice parameters in physical units.")


class Output(BaseModel):
    prompt: str
    candidates: list[Candidate]
    best_score: float
    brief: Brief = Field(description="The measurable targets read from the prompt (relative to the start sound with start_from), with their sources.")
    brief_used: bool = Field(description="Whether the brief shaped the search (brief_weight > 0 and at least one target).")
    all_targets_met: bool = Field(description="Whether the best result meets every target of the brief (and the brief says of no asked change that it cannot be made: brief.cannot).")
    targets: list[TargetResult] = Field(default_factory=list, description="The best result against each target.")
    set_by_brief: dict[str, float] = Field(default_factory=dict, description="Parameters the brief set directly (physical values), not searched.")
    changes: list[str] = Field(default_factory=list, description="With start_from: how the best result differs from the start sound (library.descriptors.compare).")
    kept: list[str] = Field(default_factory=list, description="With start_from: what the brief kept from the start sound, and whether it held.")
    views: ViewReport | None = Field(None, description="The searched view (embedder cosine) against a held-out view (archetype head) on the best result: the exploitation gap.")
    start_score: float | None = Field(None, description="With start_from: the starting sound's score for this prompt.")
    method: str
    embedder: str
    evaluations: int
    generations: int
    seconds: float
    stopped: str = Field(description="Why the search ended: evaluations, seconds (max_seconds), time_budget (time_budget_s) or early_stop.")
    best_by_generation: list[float] = Field(description="Best fitness so far after each generation (sampled to at most 60 points); the cosine itself when the brief is off.")
    time_share: dict[str, float] = Field(description="Fractions of search time in synth render, embedding, measuring the brief's descriptors and the optimiser's own work.")
    start_from: str | None = None
    fixed: dict[str, float] = Field(default_factory=dict, description="Held parameters (physical values).")
    reward_version: str | None = Field(None, description="The reward model version that shaped the search and ranking (null: none).")
    reward_status: str = Field("", description="Whether a reward model was used, and why not when it was not.")
    timing: Timing = Field(description="How the time budget was spent: stages, renders, whether the budget cut the search.")


_ALIASES = {"pitch": "keyboard.midi_f0", "note": "keyboard.midi_f0", "midi_f0": "keyboard.midi_f0", "duration": "keyboard.duration", "note_duration": "keyboard.duration"}


def get_voice(ctx: ToolContext, sample_rate: int, seconds: float) -> Voice:
    return cached_voice(ctx.models, sample_rate, seconds)


def resolve_name(name: str) -> str:
    n = _ALIASES.get(name.strip().lower(), name.strip())
    if n not in PARAM_INDEX:
        close = [p for p in PARAM_INDEX if n.split(".")[-1] in p][:6]
        hint = f" Did you mean one of: {', '.join(close)}?" if close else " Parameter names are listed in any result's patch (e.g. 'adsr_1.attack', 'vco_2.shape')."
        raise ToolError(f"Unknown synth parameter {name!r}.{hint}")
    return n


REFERENCE_PATCHES = 64


def random_reference(ctx: ToolContext, embedder: Embedder, voice: Voice, seed: int) -> torch.Tensor:
    """Embeddings of a fixed set of random patches (cached per embedder, render length and noise seed):
    the population both views are standardised against."""
    key = f"synth:random_reference:{embedder.name}:{voice.seconds:g}:{seed}"

    def make() -> torch.Tensor:
        x = torch.rand(REFERENCE_PATCHES, NUM_PARAMS, generator=torch.Generator().manual_seed(0))
        audio = render_final(voice, x, seed)
        with torch.no_grad():
            return torch.nn.functional.normalize(embedder.embed_audio(torch.from_numpy(audio).to(embedder.device), OUTPUT_RATE).float().cpu(), dim=-1)

    return ctx.models.get(key, make)


def _start_sound(ctx: ToolContext, rec) -> dict[str, Any]:
    """The start sound's flat descriptors, measured now on its saved audio (the same describe the results get)."""
    snd = ctx.library.read(rec.id)
    return describe(snd.mono(), snd.sample_rate)


@runtime_checkable
class _SentenceEncoder(Protocol):
    """An embedder whose text tower starts from sentence vectors (lstmabar's MiniLM): the brief's
    parser matches the prompt's phrases with them."""

    def sentence_vectors(self, texts: list[str]) -> torch.Tensor: ...


def _encoder(embedder: Embedder) -> Callable[[list[str]], np.ndarray] | None:
    if not isinstance(embedder, _SentenceEncoder):
        return None
    fn = embedder.sentence_vectors
    return lambda texts: fn(list(texts)).float().cpu().numpy()


def _judge(brief: Brief, d: dict[str, Any], physical: dict[str, dict[str, Any]], reach: dict[int, float] | None, searched: bool) -> list[TargetResult]:
    flat = {**d, **{k: v["value"] for k, v in physical.items() if k == "keyboard.midi_f0"}}
    out = []
    for i, t in enumerate(brief.targets):
        met, value = check(t, flat)
        note = ""
        if not met:
            steps = distance(t, value) if value is not None else None
            if value is None:
                note = f"{t.descriptor} is undefined for this sound" + (f" ({t.needs} not found)" if t.needs else "")
            elif t.descriptor == "f0_hz" and not d.get("pitched"):
                note = "no clear pitch (pYIN finds no steady note)"
            else:
                note = f"off by {steps:.1f} noticeable steps"
            limit = synth_limit(t, brief, d)
            if limit:
                note += f"; {limit}"
            elif searched and reach is not None and reach.get(i, 0.0) > 0:
                note += f"; no render of the search met it (closest {reach[i]:.1f} steps): the Voice synth may not reach it together with the other targets"
        out.append(TargetResult(aspect=t.aspect, descriptor=t.descriptor, target=t.describe(), measured=None if value is None else round(float(value), 4),
                                met=met, kept=t.kept, confidence=t.confidence, note=note))
    return out


def synth_limit(t: Target, brief: Brief, measured: dict[str, Any] | None = None) -> str:
    """What the Voice synth cannot do, stated (it has no filter, 20 Hz LFOs, 2 s envelope segments), or what the
    sound as it must stay leaves no room for (``measured``: the result's flat descriptors)."""
    keys = {x.descriptor: x for x in brief.targets}
    room = _modulation_room(t, keys, measured or {})
    if room:
        return room
    if t.descriptor == "centroid_hz" and not t.kept and t.hi is not None and "flatness" in keys and keys["flatness"].lo is not None:
        return "the Voice has no filter: its noise is white (centroid near 10 kHz at 48 kHz), so a dark noise can only be approached by mixing a low tone over it"
    kept_f0 = keys.get("f0_hz")
    if t.descriptor == "centroid_hz" and t.hi is not None and kept_f0 is not None and kept_f0.kept and kept_f0.lo is not None and t.hi < kept_f0.lo:
        return (f"a centroid under the kept note's fundamental ({kept_f0.lo:.0f} Hz): no mix of the Voice's sources goes below its own "
                "fundamental (a near-pure tone is as dark as it gets at that note); a lower note would make it darker")
    if t.descriptor == "flatness" and t.lo is not None and "centroid_hz" in keys and keys["centroid_hz"].hi is not None:
        return "the Voice has no filter: noise brings white-noise brightness with it"
    if t.descriptor == "centroid_hz" and t.kept and "flatness" in keys and keys["flatness"].lo is not None and not keys["flatness"].kept:
        return ("the Voice has no filter: its noise is white, so the asked noise brightens the sound; the brightness could not be kept "
                "with it (the noise came first)")
    if t.descriptor == "centroid_hz" and t.kept and "flatness" in keys and keys["flatness"].hi is not None and not keys["flatness"].kept:
        return ("the Voice has no filter: the noise taken out was white and carried much of the brightness, so the sound is darker "
                "without it; the brightness could not be kept (the asked change came first)")
    if t.descriptor == "attack_s" and t.lo is not None and t.lo > 2.0:
        return "the Voice's envelope attack is at most 2 s"
    if t.descriptor in ("am_rate_hz", "vibrato_rate_hz") and t.lo is not None and t.lo > 20.0:
        return "the Voice's LFOs run at most 20 Hz"
    if t.descriptor == "f0_hz" and ((t.lo is not None and t.lo > 4186.0) or (t.hi is not None and t.hi < 32.7)):
        return "outside the pitch tracker's range (32.7-4186 Hz)"
    return ""


def _modulation_room(t: Target, keys: dict[str, Target], measured: dict[str, Any]) -> str:
    """A wobble or vibrato is heard, and measured, as one over at least two of its cycles (library.descriptors finds no
    rate in less; a level movement also needs AM_MIN_S): said when the sound holds less than that after its attack."""
    wobble = t.descriptor in ("am_depth_db", "am_rate_hz")
    if not (wobble or t.descriptor in ("vibrato_depth_cents", "vibrato_rate_hz")) or measured.get("sounding_s") is None:
        return ""
    hz = wobble_rate(keys.get("am_rate_hz")) if wobble else vibrato_rate(keys.get("vibrato_rate_hz"))
    need = max(AM_MIN_S if wobble else 0.0, 2.0 / hz)
    held = float(measured["sounding_s"]) - float(measured.get("attack_s") or 0.0)
    if held >= need:
        return ""
    length = keys.get("sounding_s")
    what = "wobble" if wobble else "vibrato"
    return (f"the sound holds {max(held, 0.0):.2f} s after its attack; a {what} at {hz:.2g} Hz needs {need:.2f} s (two cycles) to be heard "
            "as one" + ("; its length was kept within 20 %: ask for it longer as well, or for a faster rate" if length is not None and length.kept
                        else "; a longer sound or a faster rate would carry it"))


# ---------------------------------------------------------------------------------------------- the steps of a call


@dataclass
class Start:
    """Where the search starts: a library sound's patch for a refinement (``center`` None for a fresh sound)."""

    center: torch.Tensor | None = None
    parents: list[str] = field(default_factory=list)
    flat: dict[str, Any] | None = None  # its descriptors, measured now
    patch: dict[str, float] | None = None  # its physical values
    seconds: float = 2.0
    began: float = field(default_factory=time.perf_counter)  # when the call started reading the start sound
    previous: list[dict[str, Any]] = field(default_factory=list)  # the brief that made the start ("go back the other way")


@dataclass
class Held:
    """Parameters not searched: held by the caller (keep, fix, midi_note, note_seconds) or set by the brief."""

    fixed: dict[int, float]  # index -> normalised value
    fixed_phys: dict[str, float]
    set_by_brief: dict[str, float]
    bounds: dict[int, tuple[float, float]] = field(default_factory=dict)  # index -> normalised (low, high) of a searched parameter


@dataclass
class Searched:
    objective: TextAudioObjective
    briefed: BriefObjective | None
    reward: Any
    status: str
    result: Any  # models.search SearchResult
    start_score: float | None
    render_embed_s: tuple[float, float]
    moved: tuple[torch.Tensor, float] | None  # the best one-knob move of the start patch (normalised, fitness)
    start_picks: torch.Tensor | None = None  # a refinement's start with the brief's settings and its best moves, for the shortlist


@dataclass
class Selected:
    chosen: torch.Tensor  # (n, NUM_PARAMS) the shortlist
    audio: np.ndarray
    final_emb: torch.Tensor
    final_scores: list[float]
    reward_scores: list[float] | None
    fitness: np.ndarray
    descs: list[dict[str, Any]]
    physicals: list[dict[str, dict[str, Any]]]
    judged: list[list[TargetResult]]
    order: list[int]  # the k kept, best first


def resolve_start(inp: Input, ctx: ToolContext) -> Start:
    """The start_from sound's patch, descriptors and length (or a fresh start)."""
    start = Start(seconds=inp.seconds)
    if not inp.start_from:
        return start
    try:
        rec = ctx.library.get(inp.start_from)
    except Exception as exc:
        raise ToolError(f"No sound {inp.start_from!r} in the library; pass the id of an earlier result (see list_sounds).") from exc
    center = stored_patch(rec.extra, rec.params)
    if center is None:
        raise ToolError(f"Sound {inp.start_from} has no Voice synth patch (it came from {rec.tool}); start_from needs a sound made by synthesize_from_text or interpolate_sounds.")
    start.center = center
    start.parents = [rec.id]
    start.flat = _start_sound(ctx, rec)
    start.patch = {k: float(v["value"]) for k, v in Patch.from_normalized(center).physical().items()}
    start.previous = [t for t in (rec.extra.get("brief") or []) if isinstance(t, dict)]
    if "seconds" not in inp.model_fields_set and rec.duration_s:
        start.seconds = float(min(MAX_RENDER_S, max(0.25, round(rec.duration_s, 3))))
    return start


def read_brief(inp: Input, start: Start, embedder: Embedder) -> tuple[Brief, bool, float]:
    """(brief, whether it shapes the search, render seconds)."""
    try:
        brief = parse_brief(inp.prompt, render_seconds=start.seconds, start=start.flat, start_patch=start.patch, encode=_encoder(embedder), changes=inp.change,
                            previous=start.previous)
    except ValueError as exc:  # the names are the schema's, so only opposite ones get here
        raise ToolError(f"change={inp.change!r}: {exc}.") from exc
    if inp.change and start.flat is None:
        raise ToolError(f"change={inp.change!r} names changes to a start sound; also pass start_from (the id of the sound to change).")
    use_brief = inp.brief_weight > 0 and bool(brief.targets)
    seconds = start.seconds
    if use_brief and brief.render_seconds and "seconds" not in inp.model_fields_set:
        seconds = brief.render_seconds
    return brief, use_brief, seconds


def hold_parameters(inp: Input, start: Start, brief: Brief, use_brief: bool) -> Held:
    """The caller's held parameters, then the brief's settings for what the caller did not hold."""
    fixed: dict[int, float] = {}
    for name in inp.keep:
        n = resolve_name(name)
        if start.center is None:
            raise ToolError(f"keep={inp.keep!r} holds parameters at a start sound's values; also pass start_from, or give values with fix / midi_note / note_seconds.")
        fixed[PARAM_INDEX[n]] = float(start.center[PARAM_INDEX[n]])
    for name, value in inp.fix.items():
        n = resolve_name(name)
        spec = VOICE_PARAMS[PARAM_INDEX[n]]
        if not spec.minimum <= value <= spec.maximum:
            raise ToolError(f"fix[{n!r}]={value} is outside its range {spec.minimum}..{spec.maximum} {spec.unit}.")
        fixed[PARAM_INDEX[n]] = float(spec.to_normalized(value))
    if inp.midi_note is not None:
        i = PARAM_INDEX["keyboard.midi_f0"]
        fixed[i] = float(VOICE_PARAMS[i].to_normalized(inp.midi_note))
    if inp.note_seconds is not None:
        i = PARAM_INDEX["keyboard.duration"]
        fixed[i] = float(VOICE_PARAMS[i].to_normalized(inp.note_seconds))
    set_by_brief: dict[str, float] = {}
    if use_brief:
        for name, value in brief.set_params().items():
            i = PARAM_INDEX[name]
            if i not in fixed:
                spec = VOICE_PARAMS[i]
                fixed[i] = float(spec.to_normalized(min(spec.maximum, max(spec.minimum, value))))
                set_by_brief[name] = round(float(spec.to_physical(fixed[i])), 6)
    bounds: dict[int, tuple[float, float]] = {}
    if inp.brief_weight > 0:  # a range is no demand: it holds where nothing is asked too (brief_weight 0 is plain CTAG)
        for name, (lo, hi) in brief.ranges.items():
            i = PARAM_INDEX[name]
            if i not in fixed:
                spec = VOICE_PARAMS[i]
                bounds[i] = (float(spec.to_normalized(lo)), float(spec.to_normalized(hi)))
    fixed_phys = {VOICE_PARAMS[i].name: round(float(VOICE_PARAMS[i].to_physical(v)), 6) for i, v in fixed.items()}
    return Held(fixed, fixed_phys, set_by_brief, bounds)


def _with(patch: torch.Tensor, settings: dict[str, float]) -> torch.Tensor:
    out = patch.clone()
    for name, value in settings.items():
        out[PARAM_INDEX[name]] = float(VOICE_PARAMS[PARAM_INDEX[name]].to_normalized(value))
    return out


def _before_search(start: Start, t_moves: float) -> float:
    """Seconds a call's search gives back: a refinement's whole preparation (measuring the start, its moves) and
    its longer shortlist (the start with the brief's settings, the best move and START_MOVES moves, each one more full
    describe), so that it ends when a fresh call does (idle, 9.7 s against 9.0 s when only the moves were given back;
    9.6 s against 9.3 s when START_MOVES describes were: docs/results/tool_speed.json); a fresh call's search keeps its
    full max_seconds."""
    if start.center is None:
        return t_moves
    return time.perf_counter() - start.began + (START_MOVES + 2) * DESCRIBE_S


def search(inp: Input, ctx: ToolContext, clock, embedder: Embedder, start: Start, brief: Brief, use_brief: bool, held: Held, voice: Voice) -> Searched:
    """The evolution strategy over the free parameters; for a refinement, from the start patch or the
    best one-knob move of it (``models.brief.moves``), with the brief's relative targets on the loop's
    own reading of the start sound (``on_loop_scale``)."""
    try:
        space = ParamSpace(NUM_PARAMS, held.fixed)
    except ValueError as exc:
        raise ToolError(str(exc)) from exc
    budget = inp.max_evaluations
    if budget < inp.population:
        raise ToolError(f"max_evaluations={budget} is smaller than one generation (population {inp.population}); raise it or lower population.")

    # rendered at the output rate, so the search scores the very audio it returns. A search at the
    # embedder's 16 kHz scored a different sound: the sine VCO folds pitches above 8 kHz back into the
    # band, the noise is 4.8 dB louder in band, and the wavetables drop partials a semitone below 8 kHz;
    # the search learnt to exploit that ("glassy bell": 0.750 searched, -0.005 returned).
    objective = TextAudioObjective(lambda x: voice.render(x, seed=inp.seed), embedder, inp.prompt, OUTPUT_RATE, chunk=64, anchor=inp.anchor, anchor_weight=inp.anchor_weight)
    reward = load_reward(ctx, embedder) if inp.feedback_weight > 0 else None
    status = reward_status(ctx, embedder) if inp.feedback_weight > 0 else "Reward model off (feedback_weight 0)."
    guided = GuidedObjective(objective, reward, inp.feedback_weight)

    start_score = None
    c_full = None
    moved = None
    start_picks = None
    loop_brief = brief
    t_moves = 0.0
    if start.center is not None:
        c_full = start.center.clone()
        for i, v in held.fixed.items():
            c_full[i] = v
        start_score = score_audio(embedder, objective.text, render_final(voice, start.center, inp.seed), OUTPUT_RATE)[0]
        if use_brief and brief.relative:
            t0 = time.perf_counter()
            caller = set(held.fixed) - {PARAM_INDEX[n] for n in held.set_by_brief}
            c_full, moved, loop_brief, start_picks = _start_point(inp, objective, guided, brief, voice, start.center, c_full, space, caller, start.flat)
            t_moves = time.perf_counter() - t0
    briefed = BriefObjective(guided, objective, loop_brief, voice, weight=inp.brief_weight) if use_brief else None
    search_objective = briefed if briefed is not None else guided
    box = None
    if held.bounds:
        lo, hi = np.zeros(space.free_dim), np.ones(space.free_dim)
        for j, i in enumerate(space.free):
            lo[j], hi[j] = held.bounds.get(i, (0.0, 1.0))
        box = (lo, hi)
    strategy = make_strategy(
        inp.method,
        space.free_dim,
        inp.population,
        center=space.reduce(c_full) if c_full is not None else None,
        sigma=inp.spread if c_full is not None else None,
        seed=inp.seed,
        bounds=box,
    )

    def on_gen(state) -> None:
        if inp.max_seconds is not None:
            frac = max(state.evaluations / budget, state.seconds / inp.max_seconds)
        else:
            frac = state.evaluations / budget
        ctx.progress(
            min(0.95, 0.95 * frac),
            1.0,
            f"generation {state.generation}: best score {state.best_fitness:.3f} after {state.evaluations} renders ({state.seconds:.1f} s)",
        )

    r0, e0 = objective.render_seconds, objective.embed_seconds
    ctx.note(f"searching {inp.method} for {inp.prompt!r}")
    clock.lap("prepare")
    res = run_search(
        search_objective,
        strategy,
        space,
        max_evaluations=budget,
        max_seconds=max(0.5, inp.max_seconds - _before_search(start, t_moves)) if inp.max_seconds is not None else None,
        patience=inp.patience,
        on_generation=on_gen,
        deadline=clock.deadline(reserve=FINISH_RESERVE_S + 0.5 * inp.k),
    )
    clock.lap("search")
    clock.add_work(renders=res.evaluations, generations=res.generations)
    if res.stopped == "time_budget":
        clock.stop_early(
            f"The {inp.time_budget_s:g} s budget ended the search after {res.evaluations} renders"
            + (f" ({clock.begun - clock.start:.1f} s of it waiting for a worker)" if clock.begun - clock.start > 1 else "")
            + "; the best sounds so far are returned. For a fuller search raise time_budget_s (through start_job above "
            "about 40 s), or refine a result with start_from."
        )
    return Searched(objective, briefed, reward, status, res, start_score, (objective.render_seconds - r0, objective.embed_seconds - e0), moved,
                    start_picks)


def _start_point(inp: Input, objective, guided, brief: Brief, voice: Voice, start_center: torch.Tensor, c_full: torch.Tensor, space: ParamSpace,
                 caller: set[int] | None = None, heard: dict[str, Any] | None = None):
    """(search centre, (best move, its fitness) or None, the brief on the loop's scale, shortlist picks) for a refinement:
    the start sound's own patch (``start_center``, before the brief's settings) is measured as the loop
    measures and the relative targets are moved onto that reading; then the start with the brief's
    settings (``c_full``) and its one-knob moves are scored with the search's fitness; the best is the
    centre. Reading ``c_full`` instead would count the asked change twice (an octave up becomes two) and
    move a keep onto a value the settings already changed. A move changes free parameters only, except a time
    stretch (``moves.STRETCH``), which moves what the brief set to keep the pitch's course (the key time, the pitch
    envelopes) along with the level's, a longer key for a cut-short attack (``moves.KEY_HOLD``) and a length change with
    the note held where it was heard (``moves.NOTE_HELD``; ``heard``: the start's descriptors), but never what the caller
    held (``caller``: indices). The picks, for
    ``select``: ``c_full``, then the best move, the move with the smallest penalty and the next best (``START_MOVES``)."""
    start_patch = {k: float(v["value"]) for k, v in Patch.from_normalized(c_full).physical().items()}
    own = {k: float(v["value"]) for k, v in Patch.from_normalized(start_center).physical().items()}
    free, held = set(space.free), set(caller or ())
    cands = [start_center.to(c_full.dtype), c_full]
    for settings, why in moves(brief, start_patch, own, heard):
        if all(PARAM_INDEX[n] in free for n in settings) or (why.startswith(OVERRIDES) and not any(PARAM_INDEX[n] in held for n in settings)):
            cands.append(_with(c_full, settings))
    x = torch.stack(cands)
    fitness, _ = guided(x)
    m = measure_batch(objective.last_audio.numpy(), OUTPUT_RATE, x, voice, needed_groups(brief), needed_keys(brief))
    loop_brief = on_loop_scale(brief, {k: v[:1] for k, v in m.items()})
    pen, _ = penalty(loop_brief, {k: v[1:] for k, v in m.items()}, len(cands) - 1, weight=inp.brief_weight)
    fit = fitness.numpy()[1:]
    f = np.where(fit <= -1.0, -np.inf, fit - pen)
    best = int(np.argmax(f))
    # the best move under the fitness, the one nearest the brief whatever the embedder says of it (an asked change
    # the embedder dislikes: 'darker' on a near-pure tone, where only dropping the other oscillator helps), then the
    # next best under the fitness up to START_MOVES (the loop's pitch can take a stretched two-oscillator pluck that
    # pYIN hears 3.5 semitones lower for the note kept, and rank it above the stretch that kept it)
    ok = [int(i) for i in range(1, len(f)) if np.isfinite(f[i])]
    by_fit = sorted(ok, key=lambda i: -f[i])
    ranked = list(dict.fromkeys(by_fit[:1] + sorted(ok, key=lambda i: pen[i])[:1] + by_fit))[:START_MOVES]
    picks = x[[1] + [i + 1 for i in ranked]]
    if best == 0:
        return c_full, None, loop_brief, picks
    return x[best + 1], (x[best + 1], float(f[best])), loop_brief, picks


def select(inp: Input, embedder: Embedder, brief: Brief, use_brief: bool, s: Searched, voice: Voice) -> Selected:
    """Pick the k results: with a brief, a shortlist (diverse picks from the archive, and the best move
    of a refinement's start) is rendered, measured with the full describe and ranked by fewest unmet
    targets, then fitness: the loop's measures (control-signal pitch, batched envelope) can disagree
    with pYIN and the full envelope on a few sounds."""
    res = s.result
    arch_x, arch_f, arch_e = res.archive_params, res.archive_fitness, res.archive_features
    picks = select_diverse(arch_f, arch_e if arch_e is not None else arch_x, max(inp.k, SHORTLIST) if use_brief else inp.k)
    chosen = arch_x[picks]
    if s.moved is not None:
        chosen = torch.cat([chosen, s.moved[0][None].to(chosen.dtype)])
    if use_brief and s.start_picks is not None:
        extra = [p for p in s.start_picks.to(chosen.dtype) if float(torch.cdist(p[None], chosen).min()) > 1e-6]
        if extra:
            chosen = torch.cat([chosen, torch.stack(extra)])

    audio = render_final(voice, chosen, inp.seed)
    with torch.no_grad():
        final_emb = torch.nn.functional.normalize(embedder.embed_audio(torch.from_numpy(audio).to(embedder.device), OUTPUT_RATE).float().cpu(), dim=-1)
    silent = np.abs(audio).max(axis=1) < 1e-4
    final_scores = [(-1.0 if silent[j] or not np.isfinite(v) else float(v)) for j, v in enumerate((final_emb @ s.objective.text.cpu()).tolist())]
    reward_scores = s.reward.score(final_emb, s.objective.text, chosen).tolist() if s.reward is not None else None
    fitness = np.array(final_scores) + (inp.feedback_weight * np.array(reward_scores) if reward_scores is not None else 0.0)
    if s.briefed is not None:
        m = measure_batch(audio, OUTPUT_RATE, chosen, voice, needed_groups(s.briefed.brief), needed_keys(s.briefed.brief))
        pen, _ = penalty(s.briefed.brief, m, len(chosen), weight=inp.brief_weight)
        fitness = np.where(silent, fitness, fitness - pen)

    descs = [describe(audio[j], OUTPUT_RATE) for j in range(len(chosen))]
    physicals = [Patch.from_normalized(chosen[j]).physical() for j in range(len(chosen))]
    judged = [_judge(brief, descs[j], physicals[j], s.briefed.reach if s.briefed is not None else None, use_brief) for j in range(len(chosen))]
    # fewest unmet targets under the judge, then the nearest miss under the judge, then the search's fitness
    miss = judged_miss(brief, [{**descs[j], "keyboard.midi_f0": physicals[j]["keyboard.midi_f0"]["value"]} for j in range(len(chosen))]) if use_brief else np.zeros(len(chosen))
    order = sorted(range(len(chosen)), key=lambda j: (sum(not r.met for r in judged[j]) if use_brief else 0, round(float(miss[j]), 6), -fitness[j]))[: inp.k]
    return Selected(chosen, audio, final_emb, final_scores, reward_scores, fitness, descs, physicals, judged, order)


def store(inp: Input, ctx: ToolContext, emb_name: str, brief: Brief, start: Start, held: Held, s: Searched, sel: Selected):
    """Save the k results (only now: a cancelled call leaves nothing behind): (candidates, records, previews, spectrogram PNG)."""
    res = s.result
    candidates: list[Candidate] = []
    records = []
    previews: list[bytes] = []
    panels = []
    for rank, j in enumerate(sel.order, start=1):
        physical = sel.physicals[j]
        mono = sel.audio[j]
        d = sel.descs[j]
        words = words_for(d)
        n_met = sum(r.met for r in sel.judged[j])
        rec = ctx.library.add(
            mono[None, :],
            OUTPUT_RATE,
            tool=TOOL_NAME,
            prompt=inp.prompt,
            params=physical,
            parents=start.parents,
            scores={
                f"cosine:{emb_name}": round(sel.final_scores[j], 5),
                **({f"reward:{s.reward.version}": round(sel.reward_scores[j], 5)} if sel.reward_scores is not None else {}),
                **({"brief_targets_met": round(n_met / len(sel.judged[j]), 4)} if sel.judged[j] else {}),
            },
            extra={
                "patch_normalized": [round(float(v), 6) for v in sel.chosen[j]],
                "method": res.strategy,
                "seed": inp.seed,
                "rank": rank,
                "evaluations": res.evaluations,
                "embedder": emb_name,
                "start_from": inp.start_from,
                "fixed": held.fixed_phys,
                "descriptors": d,
                "feedback_weight": inp.feedback_weight,
                "reward_version": s.reward.version if s.reward is not None else None,
                "brief": [t.model_dump() for t in brief.targets],
                "brief_weight": inp.brief_weight,
                "targets_met": [r.met for r in sel.judged[j]],
            },
        )
        records.append(rec)
        candidates.append(Candidate(rank=rank, sound=SoundOut.of(rec), score=round(sel.final_scores[j], 4), fitness=round(float(sel.fitness[j]), 4),
                                    targets_met=n_met, targets=sel.judged[j], description=words, descriptors=d, patch=physical))
        previews.append(preview_wav(mono[None, :], OUTPUT_RATE))
        met_txt = f"  {n_met}/{len(sel.judged[j])} targets" if sel.judged[j] else ""
        panels.append((f"#{rank} {rec.id}  score {sel.final_scores[j]:.3f}{met_txt}  {inp.prompt[:40]}", mono, OUTPUT_RATE))
    return candidates, records, previews, spectrogram_png(panels, height=2.2)


def held_out_view(ctx: ToolContext, embedder: Embedder, voice: Voice, inp: Input, s: Searched, sel: Selected) -> ViewReport | None:
    """The archetype head's agreement, both views standardised on random patches: the exploitation gap."""
    ref_emb = random_reference(ctx, embedder, voice, inp.seed)
    held_ref = archetype_agreement(embedder, s.objective.text, ref_emb)
    if held_ref is None:
        return None
    best = sel.order[0]
    held_best = archetype_agreement(embedder, s.objective.text, sel.final_emb[best : best + 1])
    if held_best is None:  # the same embedder: it has the head for both or for neither
        return None
    return exploitation((ref_emb @ s.objective.text.cpu()).numpy(), held_ref, sel.final_scores[best], float(held_best[0]),
                        f"{REFERENCE_PATCHES} random Voice patches (uniform, seed 0) rendered like the results",
                        "LSTMABAR archetype head: cosine between the archetype mixes of the sound and of the prompt")


def _time_share(s: Searched) -> dict[str, float]:
    res = s.result
    total = max(res.seconds, 1e-9)
    render_s, embed_s = s.render_embed_s
    measure_s = s.briefed.measure_seconds if s.briefed is not None else 0.0
    return {
        "render": round(render_s / total, 3),
        "embedding": round(embed_s / total, 3),
        "measure": round(measure_s / total, 3),
        "optimizer": round(res.overhead_seconds / total, 3),
    }


def _curve(history: list[tuple]) -> list[float]:
    hist = [h[1] for h in history]
    step = max(1, int(np.ceil(len(hist) / 60)))
    curve = [round(v, 4) for v in hist[::step]]
    if hist and (len(hist) - 1) % step:
        curve.append(round(hist[-1], 4))
    return curve


def summarize(inp: Input, out: Output, s: Searched, use_brief: bool, refined: bool, clock) -> str:
    """The call's answer in words: the best result, the brief met or not, what changed, what next."""
    res = s.result
    best = out.candidates[0]
    phys = best.patch
    refine = f" (it started from {inp.start_from} at score {s.start_score:.3f})" if s.start_score is not None else ""
    brief = out.brief
    if best.targets:
        unmet = [r for r in best.targets if not r.met]
        brief_txt = (f"Brief{' (relative to the start sound)' if brief.relative else ''}: {brief.summary()}. "
                     + (f"The best result meets all {len(best.targets)} targets{' it could be given' if brief.cannot else ''}. " if not unmet else
                        f"The best result meets {best.targets_met} of {len(best.targets)} targets; not met: "
                        + "; ".join(f"{r.aspect} ({r.target}, measured {r.measured}: {r.note})" for r in unmet) + ". ")
                     + ("" if use_brief else "The brief was only checked, not searched for (brief_weight 0). "))
    else:
        brief_txt = "The prompt names no measurable demand (pitch, brightness, noise, envelope, movement); the embedder alone decided. "
    change_txt = f"Changed from the start: {', '.join(out.changes[:4]) or 'nothing noticeable'}. " if refined else ""
    if brief.cannot:
        change_txt = "NOT DONE AS ASKED: " + " ".join(f"{c}." for c in brief.cannot) + " " + change_txt
    if refined and not brief.cannot and not any(not t.kept and t.descriptor != "pitched" for t in brief.targets):
        change_txt = ((f"The named change {inp.change!r} gave no target here ({'; '.join(brief.notes[-2:])}), so the embedder alone moved the sound. "
                       if inp.change else
                       f"No change was read from {inp.prompt!r} (only what to keep), so the embedder alone moved the sound: if the user asked "
                       "for something, name it in `change` (e.g. ['darker'], ['slower attack'], ['shorter', 'brighter']). ") + change_txt)
    return (
        f"Made {len(out.candidates)} sound(s) for {inp.prompt!r} with the Voice synth: best {best.sound.id} scores "
        f"{best.score:.3f} under {out.embedder}{refine}; {best.description}. Note MIDI {phys['keyboard.midi_f0']['value']:.1f}, "
        f"key held {phys['keyboard.duration']['value']:.2f} s. {brief_txt}{change_txt}Search: {res.strategy}, {res.evaluations} renders in "
        f"{res.seconds:.1f} s, stopped by {res.stopped}. "
        + (f"{clock.note} " if clock.stopped_early else "")
        + (f"Other results: {', '.join(f'{c.sound.id} ({c.score:.3f}, {c.targets_met}/{len(c.targets)} targets; {c.description})' for c in out.candidates[1:])}. " if len(out.candidates) > 1 else "")
        + (f"{s.status} " if inp.feedback_weight > 0 else "")
        + f"Next: refine with start_from={best.sound.id!r} and a new prompt (e.g. 'darker', 'slower attack', 'an octave higher'; name the "
        "change in `change` when you know it), "
        "keep=['pitch','duration'] to hold the note, or interpolate_sounds between two results."
    )


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    clock = ctx.budget(inp.time_budget_s)
    ctx.progress(0.0, 1.0, "loading the synth and the embedder", force=True)
    embedder: Embedder = ctx.embedder(inp.embedder)
    clock.lap("load")
    emb_name = embedder.name

    start = resolve_start(inp, ctx)
    brief, use_brief, seconds = read_brief(inp, start, embedder)
    clock.lap("brief")
    held = hold_parameters(inp, start, brief, use_brief)
    voice = get_voice(ctx, OUTPUT_RATE, seconds)
    s = search(inp, ctx, clock, embedder, start, brief, use_brief, held, voice)
    ctx.progress(0.96, 1.0, f"rendering {inp.k} result(s) at {OUTPUT_RATE} Hz and saving")
    ctx.check_cancelled()
    sel = select(inp, embedder, brief, use_brief, s, voice)
    ctx.check_cancelled()
    candidates, records, previews, png = store(inp, ctx, emb_name, brief, start, held, s, sel)
    views = held_out_view(ctx, embedder, voice, inp, s, sel)

    changes: list[str] = []
    kept: list[str] = []
    if start.flat is not None:
        changes = [c.evidence for c in compare(start.flat, sel.descs[sel.order[0]])]
        kept = [f"{r.aspect}: {r.target}, measured {r.measured} ({'held' if r.met else 'NOT held'})" for r in candidates[0].targets if r.kept]
    res = s.result
    best = candidates[0]
    out = Output(
        prompt=inp.prompt,
        candidates=candidates,
        best_score=best.score,
        brief=brief,
        brief_used=use_brief,
        all_targets_met=all(r.met for r in best.targets) and not brief.cannot,
        targets=best.targets,
        set_by_brief=held.set_by_brief,
        changes=changes,
        kept=kept,
        views=views,
        start_score=round(s.start_score, 4) if s.start_score is not None else None,
        method=res.strategy,
        embedder=emb_name,
        evaluations=res.evaluations,
        generations=res.generations,
        seconds=round(res.seconds, 2),
        stopped=res.stopped,
        best_by_generation=_curve(res.history),
        time_share=_time_share(s),
        start_from=inp.start_from,
        fixed=held.fixed_phys,
        reward_version=s.reward.version if s.reward is not None else None,
        reward_status=s.status,
        timing=_finish_timing(clock),
    )
    summary = summarize(inp, out, s, use_brief, start.flat is not None, clock)
    return ToolOutcome(output=out, summary=summary, audio_previews=previews, images=[png], sounds=records)


def _finish_timing(clock) -> Timing:
    clock.lap("final_render_and_save")
    return clock.timing()


TOOL = ToolSpec(
    name=TOOL_NAME,
    title="Synthesize a sound from text (CTAG)",
    description=(
        "Program a 78-parameter modular synth (torchsynth-style Voice: 2 VCOs, noise, LFOs, ADSRs, modulation matrix) so "
        "that its sound matches a text prompt, by evolutionary search scored with a text-audio embedder (CTAG). The prompt's "
        "measurable demands (a note such as 'A3' or '440 Hz', low/high, bright/dark/warm, noisy/pure, attack, length, "
        "sustained/decaying, rising/falling/vibrato, tremolo/wobble and its rate) become a brief: the note and key time are "
        "set, every unmet demand costs fitness, and the result reports each demand as measured and met or not (say what is "
        "off). Returns up to 8 different sounds, each saved in the library with its full patch in physical units, score, "
        "measured character and a spectrogram. Refine a result with start_from + a new prompt ('darker', 'slower attack', "
        "'an octave higher'): the change is measured against the start sound and the rest is kept; name the change in `change` "
        "(['darker', 'slower attack']) when the conversation makes it clear, so the words need not be guessed. Hold parameters with "
        "keep / fix / midi_note / note_seconds. Sounds are abstract, sketch-like renditions. "
        "Answers within time_budget_s (default 30 s) with the best found by then; for a longer search use start_job."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False),
    long_running=True,
)
