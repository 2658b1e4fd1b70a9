"""The optimize_fx tool end to end, with the fake embedder."""

from __future__ import annotations


import numpy as np
import pytest
import soundfile as sf
import torch

from lstmabar.library.audio_input import AudioInput
from lstmabar.library.errors import ToolCancelled, ToolError
from lstmabar.tools.optimize_fx import TOOL, Input, run

torch.set_num_threads(1)
SR = 16000


def _wav(tmp_path, seconds=1.0, channels=2):
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 330 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    x = np.stack([x, 0.8 * x][:channels], axis=1).astype(np.float32)
    p = tmp_path / "in.wav"
    sf.write(p, x, SR)
    return str(p)


def test_tool_spec():
    assert TOOL.name == "optimize_fx" and TOOL.long_running
    assert "prompt" in TOOL.input_model.model_json_schema()["properties"]


def test_run_eq_reverb_from_path(ctx, tmp_path):
    calls = []
    ctx.progress_fn = lambda d, t, m: calls.append((d, t, m))
    ctx.min_progress_interval = 0.0
    # a budget that cannot end the search first, so the exact step counts below hold on a busy machine too
    out = run(Input(audio=AudioInput(path=_wav(tmp_path)), prompt="brighter and a bit roomier", iterations=4, generations=2, population=4,
                    time_budget_s=600.0), ctx)
    o = out.output
    assert o.chain == ["eq", "reverb"] and o.strength == 0.25
    assert o.adam_steps == 4 and o.es_evaluations == 8
    rec = ctx.library.get(o.sound.id)
    assert rec.parents == [o.input_sound_id]
    assert rec.channels == 2 and rec.duration_s > 1.0  # reverb tail kept
    assert rec.params["fx"]["chain"] == ["eq", "reverb"]
    assert "Reverb(" in o.pedalboard_code and "PeakFilter(" in o.pedalboard_code
    assert o.settings[1]["plugins"][0]["params"]["wet_level"]["value"] <= 0.25 * 0.5 + 1e-6
    assert len(out.images) == 2 and all(i.startswith(b"\x89PNG") for i in out.images)
    assert out.audio_previews and out.audio_previews[0][:4] == b"RIFF"
    dones = [c[0] for c in calls]
    assert dones == sorted(dones) and len(calls) >= 3


def test_start_from_continues_from_previous_settings(ctx, tmp_path):
    first = run(Input(audio=AudioInput(path=_wav(tmp_path, channels=1)), prompt="much brighter", chain=["eq"], iterations=8, method="text2fx"), ctx).output
    second = run(Input(start_from=first.sound.id, prompt="a bit brighter", iterations=1, strength=0.05, method="text2fx"), ctx).output
    assert second.chain == ["eq"] and second.input_sound_id == first.input_sound_id
    a = ctx.library.get(first.sound.id).params["fx"]["normalized"]
    b = ctx.library.get(second.sound.id).params["fx"]["normalized"]
    from lstmabar.models.fx.chain import chain_slots

    amounts = np.array([s.is_amount for s in chain_slots(["eq"])])
    moved = np.abs(np.array(a) - np.array(b))
    assert moved[amounts].max() <= 0.05 + 1e-6  # the gains continue from the first result, within strength
    assert np.abs(np.array(a)[amounts] - 0.5).max() > 0.05  # and the first result had moved away from flat
    assert ctx.library.get(second.sound.id).parents == [first.input_sound_id]


def test_start_from_needs_fx_settings(ctx, tmp_path):
    rec = ctx.library.add(np.zeros((1, SR), np.float32) + 0.1, SR, tool="import_sound")
    with pytest.raises(ToolError):
        run(Input(start_from=rec.id, prompt="warmer"), ctx)
    with pytest.raises(ToolError):
        run(Input(prompt="warmer"), ctx)


def test_cancel_leaves_no_sound(ctx, tmp_path):
    path = _wav(tmp_path)
    before = ctx.library.count()

    def progress(d, t, m):
        if m and m.startswith("Adam step 2/"):
            ctx.cancel_event.set()

    ctx.progress_fn = progress
    ctx.min_progress_interval = 0.0
    with pytest.raises(ToolCancelled):
        run(Input(audio=AudioInput(path=path), prompt="warmer", chain=["eq"], iterations=50), ctx)
    assert ctx.library.count() == before


def test_long_input_optimised_on_excerpt_and_rendered_whole(ctx, tmp_path):
    out = run(Input(audio=AudioInput(path=_wav(tmp_path, seconds=4.0)), prompt="darker", chain=["eq", "gain"], iterations=2, excerpt_seconds=1.5), ctx).output
    assert out.excerpt_end_s - out.excerpt_start_s == pytest.approx(1.5, abs=0.01)
    assert ctx.library.get(out.sound.id).duration_s == pytest.approx(4.0, abs=0.01)


def test_high_rate_input_optimised_at_embedder_rate_rendered_at_input_rate(ctx, tmp_path):
    t = np.arange(44100) / 44100
    p = tmp_path / "hi.wav"
    sf.write(p, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    out = run(Input(audio=AudioInput(path=str(p)), prompt="warmer", chain=["eq"], iterations=2), ctx).output
    assert out.sound.sample_rate == 44100
    assert any("22050 Hz" in n for n in out.notes)


def test_every_effect_in_one_chain(ctx, tmp_path):
    chain = ["highpass", "eq", "distortion", "compressor", "chorus", "delay", "reverb", "lowpass"]  # at most 8
    out = run(Input(audio=AudioInput(path=_wav(tmp_path, seconds=0.5, channels=1)), prompt="gritty distant echo", chain=chain,
                    iterations=2, generations=1, population=4), ctx).output
    plugins = [pl["plugin"] for eff in out.settings for pl in eff["plugins"]]
    for name in ("HighpassFilter", "PeakFilter", "Distortion", "Compressor", "Chorus", "Delay", "Reverb", "LowpassFilter"):
        assert name in plugins
    assert np.isfinite(out.loss_after)
    assert ctx.library.get(out.sound.id).duration_s > 0.5  # delay/reverb tails


# ----------------------------------------------------------------------------- the crowd's settings (method)
def _noise_wav(tmp_path, seconds=1.5, sr=SR, name="noise.wav", peak=0.5):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(int(seconds * sr))
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.shape[0], 1 / sr)
    spec[1:] /= np.sqrt(f[1:])  # pink: energy in every band
    x = np.fft.irfft(spec, x.shape[0])
    x = peak * x / np.abs(x).max()
    p = tmp_path / name
    sf.write(p, x.astype(np.float32), sr)
    return str(p)


def test_crowd_method_applies_the_crowds_eq_curve_and_says_so(ctx, tmp_path):
    from lstmabar.models.fx.crowd.build import pearson
    from lstmabar.models.fx.crowd.prior import BANDS_HZ, CrowdPrior
    from lstmabar.models.fx.twins import eq_curve_db

    out = run(Input(audio=AudioInput(path=_noise_wav(tmp_path, sr=44100)), prompt="warmer", method="crowd"), ctx).output
    assert out.method == "crowd" and out.chain == ["eq"] and out.adam_steps == 0 and out.es_evaluations == 0
    norm = ctx.library.get(out.sound.id).params["fx"]["normalized"]
    keep = BANDS_HZ < 0.45 * 44100
    curve = eq_curve_db(["eq"], np.array(norm), BANDS_HZ[keep], 44100)
    assert pearson(curve, CrowdPrior.load().eq("warm").values[keep]) > 0.95
    assert any("people who call a sound warm" in e and "SocialFX" in e and "applied at strength 0.5" in e for e in out.explanation)
    assert out.measured_after["centroid_hz"] < out.measured_before["centroid_hz"]  # warmer: the centroid falls
    assert abs(out.loudness_change_lu) <= 1.0 and out.true_peak_dbfs <= -0.3


def test_both_starts_from_the_crowd_and_stays_near_a_well_known_word(ctx, tmp_path):
    from lstmabar.models.fx.crowd.build import pearson
    from lstmabar.models.fx.crowd.prior import BANDS_HZ, CrowdPrior
    from lstmabar.models.fx.twins import eq_curve_db

    out = run(Input(audio=AudioInput(path=_noise_wav(tmp_path)), prompt="brighter", iterations=30), ctx).output
    assert out.method == "both" and out.adam_steps > 0
    norm = np.array(ctx.library.get(out.sound.id).params["fx"]["normalized"])
    keep = BANDS_HZ < 0.45 * SR
    assert pearson(eq_curve_db(["eq"], norm, BANDS_HZ[keep], SR), CrowdPrior.load().eq("bright").values[keep]) > 0.8


def test_compound_and_relative_prompts_pick_their_effects(ctx, tmp_path):
    path = _noise_wav(tmp_path)
    both = run(Input(audio=AudioInput(path=path), prompt="brighter and a bit roomier", method="crowd"), ctx).output
    assert both.chain == ["eq", "reverb"] and both.explanation[0].startswith("'brighter'") and both.explanation[1].startswith("'a bit roomier'")
    wet = both.settings[1]["plugins"][0]["params"]["wet_level"]["value"]
    assert 0.0 < wet <= 0.25 * 0.5 + 1e-6  # "a bit": strength 0.25 bounds the reverb's wet level
    assert "people who call a sound roomy" in both.explanation[1]
    drier = run(Input(audio=AudioInput(path=path), prompt="drier", method="crowd"), ctx).output
    # steady noise cut off at the clip's end has no room to remove: said so, and the expander left off
    assert drier.chain == ["gate"] and drier.settings[0]["plugins"][0]["params"]["ratio"]["value"] == pytest.approx(1.0)
    assert drier.not_possible_descriptors == ["reverb_time_s"] and "not possible" in drier.not_possible[0]
    assert any("not possible" in e for e in drier.explanation)
    wider = run(Input(audio=AudioInput(path=path), prompt="wider", method="crowd"), ctx).output
    assert ctx.library.get(wider.sound.id).channels == 2 and wider.measured_after["width"] > 0.01


def test_loudness_is_kept_unless_asked_and_true_peak_held(ctx, tmp_path):
    hot = _noise_wav(tmp_path, peak=0.99, name="hot.wav")
    much = run(Input(audio=AudioInput(path=hot), prompt="much brighter", method="crowd"), ctx).output
    assert much.true_peak_dbfs <= -0.3 and abs(much.loudness_change_lu) <= 1.0
    louder = run(Input(audio=AudioInput(path=hot), prompt="louder", method="crowd"), ctx).output
    assert louder.true_peak_dbfs <= -0.3 and louder.loudness_change_lu >= 2.0


def test_no_click_where_a_cut_off_input_ends_inside_a_reverb_tail(ctx, tmp_path):
    from lstmabar.models.fx.render import end_step_db

    n = SR
    t = np.arange(n) / SR
    x = 0.5 * np.sin(2 * np.pi * 110 * t + np.pi / 2 - 2 * np.pi * 110 * (n - 1) / SR)  # stops on a crest: a 0.5 step
    path = tmp_path / "cut.wav"
    sf.write(path, x.astype(np.float32), SR)
    out = run(Input(audio=AudioInput(path=str(path)), prompt="much roomier", method="crowd"), ctx).output
    y, sr = sf.read(ctx.library.get(out.sound.id).path, always_2d=True)
    assert y.shape[0] > SR  # the tail is kept
    assert end_step_db(y.T, SR, sr) < 6.0  # no step where the input stopped (27 dB without the fade)
    assert np.abs(y[-1]).max() < 1e-3  # and the tail ends at silence
