"""optimize_fx: effects described in words ("make this drum loop brighter and a bit roomier").

The prompt is read into parts (``models/fx/crowd/prompt.py``), and each part's word gets the settings
people chose for it in the Audealize / SocialFX crowd data (``models/fx/crowd``): method "crowd" uses
them as they are, "text2fx" optimises from neutral settings so the embedder hears the processed audio
as the prompt (``models/fx/optimize.py``), and "both" (default) starts Text2FX from the crowd's
settings with a pull back towards them in proportion to the crowd's confidence. The final audio is
always rendered by pedalboard, ends cleanly, keeps the input's loudness (unless the prompt is about
loudness) with its true peak at most -0.3 dBFS; the result says what the crowd means by each word,
what was applied, and the measured before / after. Whatever the method, the descriptor each word must move
(``models/fx/crowd/guard.py``) is measured on the result, and a move that went the wrong way is said
plainly (``wrong_way``, and first in the summary); only "crowd" and "both" correct it.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
import torch
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from lstmabar.library.audio_input import AudioInput, load_audio_input
from lstmabar.library.audio_io import preview_wav, resample
from lstmabar.library.errors import ToolError
from lstmabar.library.images import line_plot_png, spectrogram_png
from lstmabar.models.fx.chain import (
    EffectName,
    chain_slots,
    default_chain,
    menu_description,
    neutral_normalized,
    pedalboard_code,
    physical_settings,
    settings_to_normalized,
    strength_from_prompt,
)
from lstmabar.models.fx.crowd import explain as crowd_explain
from lstmabar.models.fx.crowd import guard
from lstmabar.models.fx.crowd.prior import CrowdPrior
from lstmabar.models.fx.crowd.prompt import chain_for, parse
from lstmabar.models.fx.crowd.settings import plan as crowd_plan
from lstmabar.models.fx.crowd.settings import loudness_change_db, slot_weights
from lstmabar.models.fx.optimize import DEFAULT_GENERATIONS, DEFAULT_STEPS, DEFAULT_STEPS_MIXED, FxResult, judge, loudest_excerpt, optimize_chain
from lstmabar.models.fx.render import END_FADE_S, fade_end, finish, render, tail_seconds, trim_tail
from lstmabar.models.fx.twins import eq_curve_db
from lstmabar.models.reward.features import params_features
from lstmabar.models.reward.guidance import load_reward, reward_status

from .base import Seed, SoundOut, ToolContext, ToolOutcome, ToolSpec
from .budget import Timing, budget_field_description


MIN_OPT_RATE = 22_050
OPT_TAIL_S = 1.0  # tail kept during optimisation (the final render keeps the whole tail)
# 20 s: the default search (100 Adam steps + 12 CMA-ES generations on a 5 s clip) fits it on an idle 2-core
# machine, and a call that waits behind another one of the same budget still answers within 60 s.
DEFAULT_BUDGET_S = 20.0
FINISH_RESERVE_S = 2.5  # images and saving after the final render (about 2 s measured on an idle 2-core machine)


class Input(BaseModel):
    audio: AudioInput | None = Field(
        None, description="The sound to process. May be left out with start_from: the dry input of that earlier result is used."
    )
    prompt: str = Field(min_length=1, max_length=300, description='What it should sound like, e.g. "brighter and a bit roomier".')
    chain: list[EffectName] | None = Field(
        None,
        min_length=1,
        max_length=8,
        description="Effects in processing order (default: picked from the prompt's words, or start_from's chain). Menu: " + menu_description(),
    )
    loss: Literal["cosine", "directional", "both"] = Field(
        "both",
        description='Text2FX loss: "cosine" to "this sound is {prompt}", "directional" (from the anchor towards the prompt), or their sum.',
    )
    anchor: str | None = Field(
        None, max_length=300, description='Anchor text for the directional loss (default "this sound is not {prompt}"), e.g. the current description of the sound.'
    )
    strength: float | None = Field(
        None,
        ge=0.05,
        le=1.0,
        description="How far the effect amounts (gains, mixes, drive...) may move from the start, as a fraction of their range. "
        'Default: 0.25 for "a bit/slightly", 1.0 for "much/very", else 0.5.',
    )
    iterations: int | None = Field(None, ge=1, le=600, description=f"Adam steps for the differentiable effects (default {DEFAULT_STEPS}, or {DEFAULT_STEPS_MIXED} when the chain also has reverb/delay/chorus/compressor; Text2FX used 600).")
    generations: int | None = Field(None, ge=1, le=100, description=f"CMA-ES generations for reverb/delay/chorus/compressor (default {DEFAULT_GENERATIONS}).")
    population: int | None = Field(None, ge=4, le=64, description="CMA-ES population (default 4 + 3 ln(number of parameters)).")
    start_from: str | None = Field(None, description="ID of an earlier optimize_fx result: continue from its settings instead of restarting.")
    excerpt_seconds: float = Field(5.0, ge=1.0, le=30.0, description="Longer inputs are optimised on their loudest excerpt of this length; the whole file is rendered.")
    embedder: str | None = Field(None, description="Embedder (default: the configured one).")
    seed: Seed = Field(0, description="Seed for the augmentation and the search.")
    feedback_weight: float = Field(
        0.0, ge=0.0, le=5.0,
        description="Weight of the reward model learnt from people's ratings (rate_feedback), subtracted from the loss; "
        "0 = off. Used only when a reward model trained with the same embedder exists.",
    )
    time_budget_s: float = Field(DEFAULT_BUDGET_S, ge=1.0, le=1800.0, description=budget_field_description(DEFAULT_BUDGET_S, "the optimisation"))
    method: Literal["crowd", "text2fx", "both"] = Field(
        "both",
        description='"crowd": the settings people choose for the prompt\'s words (Audealize / SocialFX crowd data), no search; '
        '"text2fx": Text2FX optimisation from neutral settings (its measured moves are checked against the words, not corrected: see wrong_way); "both" (default): start from the crowd\'s settings and let Text2FX refine '
        "them, pulled back in proportion to how well the crowd knows each word.",
    )


class Output(BaseModel):
    sound: SoundOut
    input_sound_id: str
    chain: list[str]
    settings: list[dict[str, Any]] = Field(description="Per effect, its pedalboard plugins with their arguments (value, unit).")
    pedalboard_code: str = Field(description="Python that rebuilds the chain with pedalboard.")
    loss: str
    loss_before: float
    loss_after: float
    text_similarity_before: float = Field(description='cos(audio, "this sound is {prompt}") before.')
    text_similarity_after: float
    directional_similarity_after: float
    strength: float
    adam_steps: int
    es_evaluations: int = Field(description="Pedalboard renders scored by CMA-ES.")
    excerpt_start_s: float
    excerpt_end_s: float
    seconds: float
    embedder: str
    notes: list[str] = Field(default_factory=list)
    reward_version: str | None = Field(None, description="The reward model version that shaped the settings (null: none).")
    reward_status: str = Field("", description="Whether a reward model was used, and why not when it was not.")
    timing: Timing = Field(description="How the time budget was spent: stages, Adam steps and CMA-ES renders, whether the budget cut the search.")
    method: str = "both"
    explanation: list[str] = Field(default_factory=list, description="Per part of the prompt: what the crowd means by its word and what was applied.")
    measured_before: dict[str, Any] = Field(default_factory=dict, description="Descriptors of the input (centroid, band energies, reverb time, loudness, width).")
    measured_after: dict[str, Any] = Field(default_factory=dict, description="The same descriptors of the result.")
    loudness_change_lu: float | None = Field(None, description="Integrated loudness of the result minus the input's (kept within 1 LU unless the prompt asks for loudness).")
    true_peak_dbfs: float | None = Field(None, description="True peak (4x oversampled) of the result; at most -0.3 dBFS.")
    not_possible: list[str] = Field(
        default_factory=list,
        description="Parts of the prompt this recording does not allow (e.g. 'drier' on a recording with no room in it), left out and said why.",
    )
    not_possible_descriptors: list[str] = Field(default_factory=list, description="The descriptors those parts would have moved (e.g. reverb_time_s).")
    expected_moves: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per part: the descriptor it must move and which way (+1 / -1), and why; with its value before and after on the loudest "
        "excerpt (measured on the result) and the outcome: 'as asked', 'wrong way', 'too little' or 'not judged'.",
    )
    wrong_way: list[str] = Field(
        default_factory=list,
        description="Parts of the prompt whose measured descriptor went the wrong way (or too little) on this recording, with the figures "
        "and what to try instead. Empty when every judged move went as asked.",
    )


def fx_params(chain: list[str], normalized: np.ndarray, sample_rate: int, strength: float, **meta: Any) -> dict[str, Any]:
    """The parameters stored with a result (and the reward model's parameter features for a candidate)."""
    return {
        "chain": chain,
        "settings": physical_settings(chain, normalized, sample_rate),
        "normalized": [round(float(v), 6) for v in normalized],
        "strength": strength,
        **meta,
    }


def _reward_fn(ctx: ToolContext, embedder: Any, prompt: str, chain: list[str], sr: int, strength: float, weight: float):
    """(reward_fn for optimize_chain or None, reward version or None, status sentence)."""
    if weight <= 0:
        return None, None, "Reward model off (feedback_weight 0)."
    reward = load_reward(ctx, embedder)
    status = reward_status(ctx, embedder)
    if reward is None:
        return None, None, status
    with torch.no_grad():
        text = embedder.embed_text([prompt])[0].float()

    def fn(e: torch.Tensor, settings: np.ndarray) -> torch.Tensor:
        feats = torch.stack([params_features({"fx": fx_params(chain, row, sr, strength)}) for row in settings])
        return reward.score(e, text, feats, grad=e.requires_grad)

    return fn, reward.version, status


def _start_settings(ctx: ToolContext, sound_id: str) -> dict[str, Any]:
    rec = ctx.library.get(sound_id)
    fx = rec.params.get("fx") if isinstance(rec.params, dict) else None
    if not isinstance(fx, dict) or "chain" not in fx or "settings" not in fx:
        raise ToolError(f"Sound {sound_id} has no effect settings to start from; give the id of an earlier optimize_fx result.")
    return fx


def run(inp: Input, ctx: ToolContext) -> ToolOutcome:
    prompt = inp.prompt.strip()
    if not prompt:
        raise ToolError("The prompt is empty; say how the sound should change, e.g. 'brighter'.")
    budget = ctx.budget(inp.time_budget_s)
    ctx.progress(0.0, 1.0, "loading the audio", force=True)
    notes: list[str] = []
    prev = _start_settings(ctx, inp.start_from) if inp.start_from else None
    audio_in = inp.audio
    if audio_in is None:
        if prev is None or not prev.get("input_sound_id"):
            raise ToolError("Give the audio to process (audio), or start_from an earlier optimize_fx result.")
        audio_in = AudioInput(sound_id=prev["input_sound_id"])
    prior = CrowdPrior.load()
    request = parse(prompt, prior)
    auto_chain = chain_for(request) if inp.method != "text2fx" else default_chain(prompt)
    chain: list[str] = list(inp.chain) if inp.chain else (list(prev["chain"]) if prev else auto_chain)
    strength = inp.strength if inp.strength is not None else strength_from_prompt(prompt)

    loaded = load_audio_input(audio_in, ctx.library, ctx.config)
    budget.lap("load_audio")
    sr = loaded.audio.sample_rate
    samples = loaded.audio.samples
    mono = samples.mean(axis=0)
    if float(np.max(np.abs(mono))) < 1e-5:
        raise ToolError("The input is silent; effects have nothing to act on. Send a sound with signal in it.")
    embedder = ctx.embedder(inp.embedder)
    budget.lap("load_embedder")
    # optimise at a rate the embedder can use (it hears nothing above its own Nyquist), render at the input's
    opt_sr = min(sr, max(MIN_OPT_RATE, int(embedder.sample_rate)))
    a, b = loudest_excerpt(mono, sr, inp.excerpt_seconds)
    if b - a < mono.shape[0]:
        notes.append(f"Optimised on the loudest {inp.excerpt_seconds:g} s ({a / sr:.2f}-{b / sr:.2f} s); the whole file was rendered.")
    if opt_sr != sr:
        notes.append(f"Optimised at {opt_sr} Hz (the embedder's rate), rendered at {sr} Hz.")
    tail = tail_seconds(chain)
    excerpt = resample(mono[a:b], sr, opt_sr) if opt_sr != sr else mono[a:b]
    excerpt = np.pad(excerpt, (0, int(min(tail, OPT_TAIL_S) * opt_sr)))

    start = settings_to_normalized(chain, prev["settings"]) if prev else neutral_normalized(chain)
    crowd = None
    check = guard.Check()
    if inp.method != "text2fx":  # the crowd's settings: the result ("crowd") or where Text2FX starts ("both")
        crowd = crowd_plan(request, chain, prior, mono, sr, start=start if prev else None, strength=inp.strength)
        # measured on this recording: each part must move its descriptor the way its word says
        check = guard.check_and_adapt(crowd, mono[a:b], sr)
        if crowd.stereo and samples.shape[0] == 1:
            samples = np.repeat(samples, 2, axis=0)
            notes.append("The mono input was made stereo (two copies) so the width has room.")
        budget.lap("crowd_prior")
    reward_fn, reward_version, reward_note = _reward_fn(ctx, embedder, prompt, chain, sr, strength, inp.feedback_weight)
    padded = np.pad(fade_end(samples, sr, END_FADE_S), ((0, 0), (0, int(tail * sr))))  # a cut-off end would click inside a tail
    # time for what follows the search: the whole file's render (predicted from one render of the
    # excerpt, twice over for safety), then images and saving
    t0 = time.monotonic()
    render(chain, start, excerpt[None], opt_sr)
    full_render_s = (time.monotonic() - t0) * padded.size / max(1, excerpt.size)
    budget.lap("prepare")
    # (a third render's worth for the finish: loudness, true peak and the before / after measurements)
    search_deadline = budget.deadline(reserve=3 * full_render_s + FINISH_RESERVE_S)
    search_t0 = time.monotonic()

    def on_step(done: int, total: int, message: str) -> None:
        frac = done / max(total, 1)
        span = search_deadline - search_t0
        if span > 0:
            frac = max(frac, (time.monotonic() - search_t0) / span)
        ctx.progress(0.05 + 0.85 * min(1.0, frac), 1.0, message)

    ctx.progress(0.05, 1.0, f"optimising {' -> '.join(chain)}" if inp.method != "crowd" else "applying the crowd's settings")
    if crowd is not None and inp.method == "crowd":
        result = _crowd_result(chain, start, crowd.normalized, excerpt, opt_sr, embedder, prompt, inp)
    else:
        prior_x = crowd.normalized if crowd is not None else None  # Text2FX starts there, within strength of it
        refine = refine_budget(chain, crowd) if crowd is not None else (None, None)
        result = optimize_chain(
            chain,
            excerpt,
            opt_sr,
            embedder,
            prompt,
            anchor=inp.anchor,
            loss=inp.loss,
            strength=strength,
            start=start if prior_x is None else prior_x,
            steps=inp.iterations if inp.iterations is not None or crowd is None else refine[0],
            generations=inp.generations if inp.generations is not None or crowd is None else refine[1],
            population=inp.population,
            seed=inp.seed,
            on_step=on_step,
            check_cancelled=ctx.check_cancelled,
            reward_fn=reward_fn,
            reward_weight=inp.feedback_weight,
            deadline=search_deadline,
            prior=prior_x,
            prior_weight=slot_weights(crowd) if crowd is not None else 0.0,
        )
    if crowd is not None and check.off_slots:  # what is not possible here stays off after the refinement too
        result.normalized[check.off_slots] = crowd.normalized[check.off_slots]
    # what the words ask for, measured on the result: the crowd's check, or (Text2FX alone, which is not
    # corrected) the same expectation from the crowd's reading of the prompt
    moves = check.moves if crowd is not None else guard.intended_moves(
        crowd_plan(request, chain_for(request), prior, mono, sr, strength=inp.strength, fit=False), sr)
    final = guard.Check(moves=moves, before=check.before, after=check.after)
    if moves and (crowd is None or not np.array_equal(result.normalized, crowd.normalized)):
        final = guard.measure(chain, result.normalized, moves, mono[a:b], sr, check.before or None)
        wrong = final.failed()
        if crowd is not None and inp.method == "both" and len(wrong) > len(check.failed()):
            result.normalized = np.asarray(crowd.normalized, dtype=np.float64).copy()
            notes.append("Text2FX's refinement moved " + ", ".join(f"{m.key} the wrong way for '{m.part}'" for m in wrong)
                         + " on this recording; the crowd's checked settings were kept.")
            final = guard.Check(moves=moves, before=check.before, after=check.after)
    wrong_way = _wrong_way(final, inp.method)
    budget.lap("search")
    search_s = budget.stages.pop("search")
    for name, secs in result.stage_seconds.items():  # the search's parts, and the rest of it (text targets, set-up)
        budget.stages[f"search.{name}"] = secs
    budget.stages["search.other"] = max(0.0, search_s - sum(result.stage_seconds.values()))
    budget.add_work(adam_steps=result.adam_steps, cmaes_renders=result.es_evaluations, cmaes_generations=result.generations_done)
    if result.stopped_early:
        done_txt = f"{result.adam_steps} Adam steps" + (f" and {result.generations_done} of {result.generations} CMA-ES generations" if result.generations else "")
        budget.stop_early(
            f"The {inp.time_budget_s:g} s budget ended the search after {done_txt}"
            + (f" ({budget.begun - budget.start:.1f} s of it waiting for a worker)" if budget.begun - budget.start > 1 else "")
            + "; the best settings so far are returned. For a fuller search raise time_budget_s (through start_job above about 40 s), "
            "or continue with start_from."
        )
        notes.append(budget.note)

    # final render by pedalboard: whole file, all channels, padded to keep tails
    ctx.progress(0.92, 1.0, "rendering the whole file with pedalboard")
    out = render(chain, result.normalized, padded, sr)
    out = trim_tail(out, samples.shape[1], sr) if tail else out[:, : samples.shape[1]]
    budget.lap("render")
    # clean ending, the input's loudness (or the one asked for), true peak at most -0.3 dBFS
    fin = finish(out, samples, sr, loudness_change_db=loudness_change_db(request, inp.strength))
    out = fin.audio
    notes += fin.notes
    extra = min(out.shape[1], b + int(min(tail, 2.0) * sr)) - a
    measured_before = crowd_explain.measure(padded[:, a : a + extra], sr)
    measured_after = crowd_explain.measure(out[:, a : a + extra], sr)
    explanation = (crowd_explain.explain(crowd, prior, sr) + check.notes + check.not_possible) if crowd is not None else []
    if crowd is not None and inp.method == "both" and crowd_explain.eq_moved(chain, crowd.normalized, result.normalized):
        explanation.append("Text2FX then refined the crowd's settings (the settings field has the final values).")
    budget.lap("finish")
    ctx.check_cancelled()

    settings = physical_settings(chain, result.normalized, sr)
    code = pedalboard_code(settings, sr) + f"processed = processed * 10 ** ({fin.gain_db:+.2f} / 20)  # the input's loudness kept (or the change asked for)\n" + (
        "# then a look-ahead peak limiter held the true peak at -0.3 dBFS (lstmabar.models.fx.render.peak_limit)\n" if fin.limited else "")
    ctx.progress(0.95, 1.0, "drawing the EQ curve and spectrograms")
    freqs = np.geomspace(20.0, min(20000.0, 0.5 * sr), 256)
    curve = eq_curve_db(chain, result.normalized, freqs, sr)
    curves = [("result", curve)]
    if prev:
        curves.insert(0, ("start", eq_curve_db(chain, result.start, freqs, sr)))
    eq_png = line_plot_png(freqs, curves, xlabel="frequency (Hz)", ylabel="gain (dB)", title=f"EQ curve for '{prompt}'")
    n_spec = min(samples.shape[1], int(10 * sr))
    spec_png = spectrogram_png([("before", mono[:n_spec], sr), ("after", out.mean(axis=0)[:n_spec], sr)])
    budget.lap("images")
    ctx.progress(0.98, 1.0, "saving")

    # lineage: the dry input is the parent (stored first when it came from outside the library)
    input_id = loaded.sound_id
    if input_id is None:
        in_rec = ctx.library.add(samples, sr, tool="optimize_fx", prompt=f"input: {loaded.label}", params={"source": loaded.label}, extra={"role": "optimize_fx input"})
        input_id = in_rec.id
    emb_name = embedder.name
    params = fx_params(
        chain,
        result.normalized,
        sr,
        strength,
        input_sound_id=input_id,
        loss=inp.loss,
        anchor=inp.anchor,
        embedder=emb_name,
        started_from=inp.start_from,
    )
    scores = {
        "loss_before": result.loss_before,
        "loss_after": result.loss_after,
        "text_similarity_before": result.text_similarity_before,
        "text_similarity_after": result.text_similarity_after,
        "directional_similarity_after": result.directional_after,
    }
    rec = ctx.library.add(
        out, sr, tool="optimize_fx", prompt=prompt, params={"fx": params}, parents=[input_id], scores=scores,
        extra={"pedalboard_code": code, "feedback_weight": inp.feedback_weight, "reward_version": reward_version}
    )
    preview = preview_wav(out, sr)
    budget.lap("save")
    output = Output(
        sound=SoundOut.of(rec),
        input_sound_id=input_id,
        chain=chain,
        settings=settings,
        pedalboard_code=code,
        loss=inp.loss,
        loss_before=round(result.loss_before, 5),
        loss_after=round(result.loss_after, 5),
        text_similarity_before=round(result.text_similarity_before, 5),
        text_similarity_after=round(result.text_similarity_after, 5),
        directional_similarity_after=round(result.directional_after, 5),
        strength=strength,
        adam_steps=result.adam_steps,
        es_evaluations=result.es_evaluations,
        excerpt_start_s=round(a / sr, 3),
        excerpt_end_s=round(b / sr, 3),
        seconds=round(result.seconds, 2),
        embedder=str(emb_name),
        notes=notes,
        reward_version=reward_version,
        reward_status=reward_note,
        timing=budget.timing(),
        method=inp.method,
        explanation=explanation,
        measured_before=measured_before,
        measured_after=measured_after,
        loudness_change_lu=round(fin.loudness_out - fin.loudness_in, 2) if np.isfinite(fin.loudness_in) and np.isfinite(fin.loudness_out) else None,
        true_peak_dbfs=round(fin.true_peak_db, 2),
        not_possible=check.not_possible,
        not_possible_descriptors=check.not_possible_keys,
        expected_moves=[_move_record(m, final) for m in final.moves],
        wrong_way=wrong_way,
    )
    key = _key_changes(settings)
    summary = (
        ("Not as asked on this recording: " + " ".join(wrong_way) + " " if wrong_way else "")
        + f"Processed {loaded.label} with {' -> '.join(chain)} for '{prompt}' (strength {strength:g}, {inp.loss} loss, "
        f"{result.adam_steps} Adam steps, {result.es_evaluations} CMA-ES renders, {output.timing.elapsed_s:.1f} s of a {inp.time_budget_s:g} s budget) -> {rec.id}. "
        f"Loss {result.loss_before:.4f} -> {result.loss_after:.4f}; similarity to 'this sound is {prompt}' "
        f"{result.text_similarity_before:.3f} -> {result.text_similarity_after:.3f}. Main settings: {key}. "
        + (" ".join(explanation) + " " if explanation else "")
        + crowd_explain.measured_sentence(measured_before, measured_after) + " "
        f"The pedalboard_code field rebuilds the chain; refine with start_from={rec.id}. "
        + (f"{reward_note} " if inp.feedback_weight > 0 else "")
        + " ".join(notes)
    ).strip()
    return ToolOutcome(output=output, summary=summary, audio_previews=[preview], images=[eq_png, spec_png], sounds=[rec])


def _num(v: float | None) -> float | None:
    return round(float(v), 3) if v is not None and np.isfinite(v) else None


def _move_record(m: guard.Move, chk: guard.Check) -> dict[str, Any]:
    return {"part": m.part, "descriptor": m.key, "direction": m.direction, "why": m.why, "before": _num(chk.before.get(m.key)),
            "after": _num(chk.after.get(m.key)), "outcome": guard.outcome(m, chk.before, chk.after)}


def _wrong_way(chk: guard.Check, method: str) -> list[str]:
    """One sentence per move that went the wrong way (or too little), with what the assistant can do about it."""
    out = []
    for m in chk.moves:
        said = guard.said(m, chk.before, chk.after)
        if not said:
            continue
        if method == "text2fx":
            hint = (f"Text2FX alone follows the embedder's idea of the words, which did not hold here; method='both' (the default) "
                    f"starts from what people mean by '{m.part}' and checks the move on the sound.")
        else:
            hint = "The crowd's settings, even with the correction for this recording, did not do it; a larger strength ('much ...') may, or the recording may not allow it."
        out.append(f"{said}. {hint}")
    return out


REFINE_FLOOR = 0.25  # the least share of the default search that a refinement of the crowd's settings gets


def refine_budget(chain: list[str], crowd: Any) -> tuple[int, int]:
    """(Adam steps, CMA-ES generations) for Text2FX refining the crowd's settings: the default search
    times (1 - the least confidence of the parts it refines), at least ``REFINE_FLOOR`` of it. The pull
    back to the crowd grows with the confidence, so a well-known word leaves Text2FX little to move
    and a short refinement reaches the same place; an unknown word gets the full search."""
    confs = [pp.confidence for pp in crowd.parts if pp.values or pp.curve_db is not None]
    share = max(REFINE_FLOOR, 1.0 - min(confs)) if confs else 1.0
    slots = chain_slots(chain)
    has_es = any(not s.differentiable for s in slots)
    steps = (DEFAULT_STEPS_MIXED if has_es else DEFAULT_STEPS) * share
    return max(10, round(steps)), max(3, round(DEFAULT_GENERATIONS * share))


def _crowd_result(chain, start, normalized, excerpt, sr, embedder, prompt: str, inp: Input) -> FxResult:
    """The crowd's settings as the result, with Text2FX's scores before and after (no search)."""
    t0 = time.perf_counter()
    (lb, sb, _), (la, sa, da) = judge(chain, [start, normalized], excerpt, sr, embedder, prompt, anchor=inp.anchor, loss=inp.loss)
    return FxResult(normalized=np.asarray(normalized, dtype=np.float64), start=start, loss_before=lb, loss_after=la, text_similarity_before=sb,
                    text_similarity_after=sa, directional_after=da, adam_steps=0, es_evaluations=0, generations=0, seconds=time.perf_counter() - t0)


def _key_changes(settings: list[dict[str, Any]]) -> str:
    parts = []
    for eff in settings:
        for pl in eff["plugins"]:
            p = pl["params"]
            if "gain_db" in p and "cutoff_frequency_hz" in p:
                if abs(p["gain_db"]["value"]) >= 1.0:
                    parts.append(f"{pl['plugin']} {p['gain_db']['value']:+.1f} dB at {p['cutoff_frequency_hz']['value']:.0f} Hz")
            else:
                vals = ", ".join(f"{k}={v['value']:.3g}{(' ' + v['unit']) if v['unit'] else ''}" for k, v in p.items() if not v.get("fixed"))
                parts.append(f"{pl['plugin']}({vals})")
    return "; ".join(parts) if parts else "all EQ bands within 1 dB of flat"


TOOL = ToolSpec(
    name="optimize_fx",
    title="Apply effects described in words (Text2FX)",
    description=(
        "Process a sound with a chain of real audio effects (EQ, high/low-pass, compressor, distortion, gain, reverb, "
        "delay, chorus) whose settings are optimised so the result matches a description such as 'brighter and a bit "
        "roomier' (Text2FX). Returns the new sound, every knob in pedalboard's names and units, a Python snippet that "
        "rebuilds the chain, the losses before and after, an EQ-curve image and a before/after spectrogram. "
        "By default it starts from the settings people choose for the prompt's words (Audealize / SocialFX crowd data) and "
        "refines them with Text2FX (method 'both'; 'crowd' or 'text2fx' for either alone); compound prompts such as 'warmer and "
        "a bit drier' or 'less muddy' work part by part, and the result explains each part in the crowd's terms with measured "
        "before / after descriptors; a measured move against the words (e.g. 'brighter' lowering the centroid) is said in wrong_way. Loudness is kept unless asked for, true peak at most -0.3 dBFS. "
        "Use start_from with an earlier result to refine it; strength (or words like 'a bit' / 'much') sets how far it goes. "
        "Answers within time_budget_s (default 20 s) with the best settings found by then; for a longer search use start_job."
    ),
    input_model=Input,
    output_model=Output,
    run=run,
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True),
    long_running=True,
)
