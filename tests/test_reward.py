"""Reward model: training from the store, held-out accuracy, versions + snapshot manifests, pick-up of
new versions without restart, guidance term, export with predictions, CLI, sounds_to_rate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lstmabar.library.export import export_feedback
from lstmabar.models.reward import train as reward_train
from lstmabar.models.reward.features import PARAM_DIM, param_vector, patch_params
from lstmabar.models.reward.guidance import GuidedObjective, load_reward, record_scorer, rerank, reward_status
from lstmabar.models.reward.registry import RewardRegistry, reward_dir, versions
from lstmabar.tools import sounds_to_rate

torch.set_num_threads(1)
SR = 16_000


def _tone(freq: float, seconds: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None]


def _populate(library, n: int = 36, pairs: int = 70, seed: int = 0, prompt: str = "low hum"):
    """Tones of random pitch; the 'listener' prefers lower tones (rating by pitch band)."""
    rng = np.random.default_rng(seed)
    freqs = rng.uniform(80, 4000, n)
    ids = [
        library.add(_tone(f), SR, tool="test", prompt=prompt, params={"freq": {"value": float(f), "unit": "Hz"}}).id
        for f in freqs
    ]
    for k in range(pairs):
        i, j = rng.choice(n, 2, replace=False)
        win, lose = (i, j) if freqs[i] < freqs[j] else (j, i)
        library.add_feedback(ids[win], preferred_over=ids[lose], request_id=f"p{seed}-{k}")
    for i in range(0, n, 2):
        rating = 5 - int(np.clip((freqs[i] - 80) / 800, 0, 4))
        library.add_feedback(ids[i], rating=rating, request_id=f"r{seed}-{i}")
    return ids, freqs


def test_param_features():
    from lstmabar.library.records import SoundRecord
    import datetime as dt

    base = dict(id="snd_x", created_at=dt.datetime.now(), tool="t", path="/x.wav", sample_rate=SR, channels=1, frames=10, duration_s=0.1)
    patch = [0.25] * 78
    v = param_vector(SoundRecord(**base, extra={"patch_normalized": patch}))
    assert v.shape == (PARAM_DIM,) and v[77] == 0.25 and v[78] == 1.0 and v[79:].abs().sum() == 0
    fx = param_vector(SoundRecord(**base, params={"reverb": {"room_size": {"value": 0.8, "unit": ""}}, "gain_db": -6.0}))
    assert fx[78] == 0 and fx[:78].abs().sum() == 0 and fx[79:].abs().sum() > 0
    assert torch.equal(patch_params(torch.full((2, 78), 0.25))[0], v)


def test_train_heldout_versions_and_pickup(library, tiny_embedder, tool_ctx):
    with pytest.raises(ValueError, match="No feedback"):
        reward_train.train_reward(library, tiny_embedder, reward_dir(library.config))
    ids, freqs = _populate(library)
    folder = reward_dir(library.config)
    reg = RewardRegistry(folder)
    assert reg.latest() is None

    m1 = reward_train.train_reward(library, tiny_embedder, folder, epochs=250)
    assert m1.version == "v1" and versions(folder) == [1]
    man = json.loads((folder / "reward-v1.json").read_text())
    assert man["pair_count"] == 70 and man["rating_count"] == 18 and man["feedback_count"] == 88
    assert {r["feedback_id"] for r in man["snapshot"]} == {f.id for f in library.feedback()}
    held = man["heldout"]
    assert held["pairwise_count"] >= 5  # the split hashes random feedback ids: about 18 on average
    # lower tones are preferred; the band energies of the embedding carry pitch: well above chance
    assert held["pairwise_accuracy"] >= 0.75, held
    assert (folder / "features-tiny.pt").exists()

    got = reg.latest()
    assert got is not None and got.version == "v1"
    assert reg.latest() is got  # cached while nothing changed

    # scores: standardised, and ordered like the hidden preference
    scorer = record_scorer(library, tiny_embedder, got)
    s = np.array([scorer(library.get(i)) for i in ids])
    assert abs(s.mean()) < 0.3 and 0.6 < s.std() < 1.4
    assert np.corrcoef(s, -np.log(freqs))[0, 1] > 0.5

    # new feedback and a retrain: the same registry (a running server) serves v2 without a restart
    library.add_feedback(ids[int(np.argmin(freqs))], rating=5, request_id="late-1")
    m2 = reward_train.train_reward(library, tiny_embedder, folder, epochs=50)
    assert m2.version == "v2" and reg.latest().version == "v2"
    # eval counts only feedback newer than a model's snapshot
    ev = reward_train.evaluate(library, tiny_embedder, got, folder)
    assert ev["new_feedback"] == 1 and ev["version"] == "v1"

    # a damaged newer file does not break the tools: the last good version stays in use
    (folder / "reward-v3.pt").write_bytes(b"not a model")
    assert reg.latest().version == "v2"
    (folder / "reward-v3.pt").unlink()

    # tools see it through the context, only with a matching embedder
    assert load_reward(tool_ctx, tiny_embedder).version == "v2"

    class Other:
        name, dim = "other", 32

    assert load_reward(tool_ctx, Other()) is None
    assert "not used" in reward_status(tool_ctx, Other()) and "v2" in reward_status(tool_ctx, tiny_embedder)


def test_guided_objective_and_rerank(library, tiny_embedder):
    _populate(library, n=20, pairs=40)
    model = reward_train.train_reward(library, tiny_embedder, reward_dir(library.config), epochs=100)
    text = tiny_embedder.embed_text(["low hum"])[0]

    class Obj:
        def __init__(self):
            self.text = text
            self.render_seconds = 1.5

        def __call__(self, params):
            audio = torch.stack([torch.from_numpy(_tone(100 + 3000 * float(p[0]))[0]) for p in params])
            emb = tiny_embedder.embed_audio(audio, SR)
            return torch.zeros(len(params)).index_fill_(0, torch.tensor([len(params) - 1]), -1.0), emb

    params = torch.rand(5, 78)
    params[:, 0] = torch.tensor([0.0, 0.3, 0.6, 0.9, 0.1])
    off = GuidedObjective(Obj(), model, 0.0)
    on = GuidedObjective(Obj(), model, 2.0)
    f0, e0 = off(params)
    f1, e1 = on(params)
    assert torch.equal(f0, torch.tensor([0.0, 0.0, 0.0, 0.0, -1.0])) and torch.allclose(e0, e1)
    r = model.score(e1, text, params)
    assert torch.allclose(f1[:4], 2.0 * r[:4], atol=1e-5) and f1[4] == -1.0  # invalid stays at the bottom
    assert on.render_seconds == 1.5  # attributes pass through
    assert float(f1[0]) > float(f1[3])  # the low tone beats the high one
    assert rerank(torch.tensor([0.1, 0.2]), torch.tensor([1.0, -1.0]), 0.0) == [1, 0]
    assert rerank(torch.tensor([0.1, 0.2]), torch.tensor([1.0, -1.0]), 1.0) == [0, 1]


def test_export_with_predictions(library, tiny_embedder, tmp_path):
    pa = pytest.importorskip("pyarrow.parquet")
    _populate(library, n=10, pairs=8)
    model = reward_train.train_reward(library, tiny_embedder, reward_dir(library.config), epochs=30)
    scorer = record_scorer(library, tiny_embedder, model)
    n = export_feedback(library, tmp_path / "fb.jsonl", scorer=scorer, reward_version=model.version)
    rows = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text().splitlines()]
    assert n == len(rows) == 13
    pair = next(r for r in rows if r["kind"] == "pair")
    assert isinstance(pair["reward"], float) and isinstance(pair["other_reward"], float) and pair["reward_version"] == "v1"
    export_feedback(library, tmp_path / "fb.parquet", fmt="parquet", scorer=scorer, reward_version=model.version)
    table = pa.read_table(tmp_path / "fb.parquet")
    assert table.num_rows == 13 and str(table.schema.field("reward").type) == "double"


def test_cli_train_eval_export(library, tiny_embedder, tmp_path, monkeypatch, capsys):
    import lstmabar.models.embedders as emb_mod

    _populate(library, n=12, pairs=20)
    monkeypatch.setattr(emb_mod, "load_embedder", lambda spec, **kw: tiny_embedder)
    out_dir = str(library.config.output_dir)
    assert reward_train.main(["eval", "--output-dir", out_dir]) == 1  # nothing trained yet
    assert reward_train.main(["--output-dir", out_dir, "--epochs", "40"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["version"] == 1 and printed["feedback_count"] == 26
    assert reward_train.main(["eval", "--output-dir", out_dir]) == 0
    assert json.loads(capsys.readouterr().out)["new_feedback"] == 0
    from lstmabar.server import cli

    assert cli.main(["train", "reward", "--output-dir", out_dir, "--epochs", "20"]) == 0  # `lstmabar train reward`
    assert json.loads(capsys.readouterr().out)["version"] == 2
    out = tmp_path / "x.jsonl"
    assert reward_train.main(["export", "--output-dir", out_dir, "--out", str(out)]) == 0
    assert all(json.loads(line)["reward_version"] == "v2" for line in out.read_text().splitlines())


def test_sounds_to_rate(tool_ctx, tiny_embedder):
    lib = tool_ctx.library
    tool_ctx.models._items["embedder:lstmabar"] = tiny_embedder
    with pytest.raises(Exception, match="No sounds"):
        sounds_to_rate.run(sounds_to_rate.Input(), tool_ctx)
    a = lib.add(_tone(200), SR, tool="t", prompt="pad", scores={"cos": 0.50})
    b = lib.add(_tone(300), SR, tool="t", prompt="pad", scores={"cos": 0.52})
    c = lib.add(_tone(900), SR, tool="t", prompt="pad", scores={"cos": 0.90})
    d = lib.add(_tone(400), SR, tool="t", prompt="bell")
    lib.add_feedback(c.id, rating=4)
    lib.add_feedback(c.id, rating=2)
    lib.add_feedback(d.id, rating=3)
    out = sounds_to_rate.run(sounds_to_rate.Input(limit=3), tool_ctx).output
    assert [s.sound.id for s in out.sounds][:2] == [b.id, a.id]  # unjudged first, newest first
    assert out.sounds[-1].sound.id == d.id and out.sounds[-1].ratings == 1
    assert out.reward_version is None and out.total_feedback == 3
    first = out.pairs[0]
    assert {first.a.sound.id, first.b.sound.id} == {a.id, b.id} and first.basis == "score:cos" and first.gap == pytest.approx(0.02)
    # once compared, that pair is not suggested again
    lib.add_feedback(a.id, preferred_over=b.id)
    out = sounds_to_rate.run(sounds_to_rate.Input(limit=5), tool_ctx).output
    assert all({p.a.sound.id, p.b.sound.id} != {a.id, b.id} for p in out.pairs)
    assert all(p.prompt == "pad" for p in out.pairs)
    # with a reward model, pairs are ranked by its predictions
    reward_train.train_reward(lib, tiny_embedder, reward_dir(tool_ctx.config), epochs=20)
    res = sounds_to_rate.run(sounds_to_rate.Input(limit=5), tool_ctx)
    assert res.output.reward_version == "v1" and res.output.pairs[0].basis == "reward"
    assert all(s.reward is not None for s in res.output.sounds) and "v1" in res.summary
    assert sounds_to_rate.TOOL.annotations.read_only_hint is True


@pytest.mark.anyio
async def test_sounds_to_rate_over_mcp(server):
    from mcp import Client

    lib = server.state.library
    a = lib.add(_tone(200), SR, tool="t", prompt="pad", scores={"cos": 0.5})
    b = lib.add(_tone(300), SR, tool="t", prompt="pad", scores={"cos": 0.6})
    async with Client(server) as client:
        res = await client.call_tool("sounds_to_rate", {"limit": 2, "use_reward": False})
        assert not res.is_error, res.content[0].text
        pair = res.structured_content["pairs"][0]
        assert {pair["a"]["sound"]["id"], pair["b"]["sound"]["id"]} == {a.id, b.id}
        ok = await client.call_tool("rate_feedback", {"sound_id": b.id, "preferred_over": a.id, "request_id": "m1"})
        assert not ok.is_error
        res = await client.call_tool("sounds_to_rate", {"limit": 2, "use_reward": False})
        assert res.structured_content["pairs"] == [] and res.structured_content["total_feedback"] == 1
