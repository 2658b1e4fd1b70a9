"""The subtractive synth's estimator network (issue 19 item 2): training spec, graceful loading, its start in the bank."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)

from lstmabar.models.matching.subtractive import SUB_INDEX, SUB_NAMES, SubtractiveSynth, to_normalized, to_physical  # noqa: E402

SR = 16_000
NOTE = SUB_INDEX["note.midi"]


def _patch(midi: float = 57.0) -> torch.Tensor:
    return to_normalized({"note.midi": midi, "note.duration": 0.6, "osc.saw": 1.0, "osc.square": 0.3, "osc.triangle": 0.0, "osc.sine": 0.2,
                          "noise.level": 0.05, "filter.cutoff": 1200.0, "filter.resonance": 2.0, "filter.keytrack": 0.5,
                          "filter.env_amount": 2.0, "filter.decay": 0.3, "filter.sustain": 0.3, "amp.attack": 0.01, "amp.decay": 0.4,
                          "amp.sustain": 0.5, "amp.release": 0.2, "vibrato.depth": 0.0, "body.gain_1": 3.0, "body.gain_2": -3.0})


class FixedNet(torch.nn.Module):
    """Stands in for a trained estimator: always predicts ``guess``."""

    def __init__(self, guess: torch.Tensor) -> None:
        super().__init__()
        self.guess = guess

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.guess[None].expand(feats.shape[0], -1)


def test_subtractive_spec_renders_the_whole_keyboard_and_trains_a_few_steps(tmp_path):
    from lstmabar.models.matching.data import Pool
    from lstmabar.models.matching.matcher import load_network, load_sub_network
    from lstmabar.models.matching.train import get_spec, save, train_one, validation_set

    spec = get_spec("subtractive")
    assert spec.name == "subtractive" and spec.param_names == SUB_NAMES
    notes = to_physical(spec.sample(2000, torch.Generator().manual_seed(0)))[:, NOTE]
    assert float(notes.min()) < 27 and float(notes.max()) > 102  # the whole range, not one pitch
    pool = Pool(spec, 24, seed=0, chunk=12)
    assert pool.feats.shape == (24, 1, 64, 126) and torch.isfinite(pool.feats).all()
    val = validation_set(spec, 8)
    model, stats = train_one("cnn", pool, val, steps=2, batch=8, lr=1e-3, device=torch.device("cpu"), log=lambda m: None,
                             arch_kwargs={"width": 8})
    assert stats["steps"] == 2 and stats["val_mse"] == stats["val_mse"]  # finite, not NaN
    save(model, "cnn", spec, stats, tmp_path)
    loaded, blob = load_network("subtractive", "cnn", tmp_path)
    assert blob["param_names"] == list(SUB_NAMES)
    assert load_sub_network("cnn", tmp_path) is not None


def test_missing_weights_fall_back_to_the_analysed_guess(tmp_path):
    from lstmabar.models.matching.matcher import Matcher, load_sub_network

    assert load_sub_network("cnn", tmp_path) is None
    (tmp_path / "subtractive_cnn.pt").write_bytes(b"not a checkpoint")
    assert load_sub_network("cnn", tmp_path) is None
    m = Matcher("subtractive", weights_dir=tmp_path)
    assert m.network is None
    target = SubtractiveSynth(SR, 1.0).render(_patch(), 0)[0].numpy()
    res = m.match(target, SR, budget_s=1.2, seed=0)
    assert res.stages["network"] is None and res.stages["network_loss"] is None and res.stages["winner"] != "network"


def test_network_guess_joins_the_bank_at_the_candidate_note_not_its_own():
    """The network predicts the target's patch exactly but at MIDI 100: its start must be scored at the
    chosen note (57), where it is the target itself and wins; had its own note been kept it would lose."""
    from lstmabar.models.matching.sub_match import match_subtractive

    syn = SubtractiveSynth(SR, 1.0)
    true = _patch(57.0)
    target = syn.render(true, 0)[0].numpy()
    wrong_note = true.clone()
    wrong_note[NOTE] = to_normalized({"note.midi": 100.0})[NOTE]
    res = match_subtractive(syn, target, 57.0, budget_s=0.05, seed=0, bank_size=7, network_guess=wrong_note)
    assert res.network_loss is not None and res.network_loss < 0.05 < res.analysis_loss
    assert res.winner == res.start_winner == "network"
    assert float(to_physical(res.params[None])[0, NOTE]) == pytest.approx(57.0, abs=0.05)
    without = match_subtractive(syn, target, 57.0, budget_s=0.05, seed=0, bank_size=7)
    assert without.network_loss is None and without.winner in ("analysis", "bank")


def test_matcher_reports_the_network_start():
    from lstmabar.models.matching.matcher import Matcher

    true = _patch(57.0)
    wrong_note = true.clone()
    wrong_note[NOTE] = to_normalized({"note.midi": 30.0})[NOTE]
    target = SubtractiveSynth(SR, 1.0).render(true, 0)[0].numpy()
    res = Matcher("subtractive", network=FixedNet(wrong_note)).match(target, SR, budget_s=1.5, seed=0)
    st = res.stages
    assert st["network"] is not None and st["network_loss"] is not None and st["network_loss"] < st["analysis_loss"]
    assert st["start_winner"] == "network"
    assert float(to_physical(res.normalized[None])[0, NOTE]) == pytest.approx(57.0, abs=0.3)


def test_shipped_subtractive_estimator_loads():
    """The shipped weights must load: a failed load falls back silently to the analysed guess (a logged warning)."""
    from lstmabar.models.matching.matcher import SUB_NETWORK, load_sub_network

    assert load_sub_network(SUB_NETWORK) is not None


def test_tool_summary_says_which_start_the_search_took():
    from lstmabar.tools.match_sound import stages_text

    st = {"bank_loss": 1.80, "cma_loss": 1.50, "gradient_loss": 1.40, "gradient_steps": 12, "winner": "gradient",
          "analysis_loss": 2.40, "network_loss": 1.80, "network": "cnn", "start_winner": "network"}
    text = stages_text(st)
    assert "started from the cnn network's guess (loss 1.800; the measured guess 2.400)" in text and text.endswith("kept: gradient.")
    text = stages_text({**st, "start_winner": "analysis", "bank_loss": 2.40})
    assert "started from the measured guess (loss 2.400; the cnn network's guess 1.800)" in text
    text = stages_text({**st, "start_winner": "bank", "bank_loss": 1.70})
    assert "started from a random start of the bank (loss 1.700; the measured guess 2.400, the cnn network's guess 1.800)" in text
    text = stages_text({**st, "network": None, "network_loss": None, "start_winner": "analysis", "bank_loss": 2.40})
    assert "started from the measured guess (loss 2.400); no estimator network was loaded" in text
    assert stages_text({**st, "bank_loss": None}) == ""  # no search ran


@pytest.mark.slow
def test_guess_eval_scores_the_audio_the_network_heard(monkeypatch):
    """The validation set renders each batch of 64 with its own noise seed; guess_eval's network must hear the
    very audio its guess is scored against (and the analysed guess is measured from), past the first batch too."""
    from lstmabar.models.matching import metrics, sub_match
    from lstmabar.models.matching.features import log_mel
    from lstmabar.models.matching.train import get_spec, guess_eval, validation_set

    spec = get_spec("subtractive")
    heard: list[torch.Tensor] = []
    scored: list[torch.Tensor] = []

    class Recorder(torch.nn.Module):
        def forward(self, feats: torch.Tensor) -> torch.Tensor:
            heard.append(feats)
            return torch.full((feats.shape[0], len(SUB_NAMES)), 0.5)

    def loss(target: torch.Tensor, renders: torch.Tensor) -> torch.Tensor:
        scored.append(target)
        return torch.zeros(len(renders))

    monkeypatch.setattr(metrics, "match_loss_torch", loss)
    monkeypatch.setattr(sub_match, "analyse", lambda audio, midi: torch.full((len(SUB_NAMES),), 0.5))
    n = 66
    _, params = validation_set(spec, n, 5)
    guess_eval(Recorder(), spec, params.mean(0), n, seed=5)
    assert len(scored) == n
    torch.testing.assert_close(torch.cat(heard), log_mel(torch.stack(scored)))
