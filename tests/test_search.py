"""Search strategies, the loop and diverse top-k on analytic functions (no synth, no embedder)."""

from __future__ import annotations

import math

import pytest
import torch

from lstmabar.models.search import (
    ParamSpace,
    RandomSearch,
    make_strategy,
    run_search,
    select_diverse,
)
from lstmabar.models.search.es import rank_utilities

torch.set_num_threads(1)

TARGET = 0.3 + 0.4 * torch.rand(20, generator=torch.Generator().manual_seed(1))


def sphere(x: torch.Tensor) -> tuple[torch.Tensor, None]:
    """Negative squared distance to TARGET (maximum 0)."""
    return -((x - TARGET[: x.shape[1]]) ** 2).sum(dim=1), None


def rastrigin(x: torch.Tensor) -> tuple[torch.Tensor, None]:
    """Negative Rastrigin on [0,1]^d mapped to [-2.56, 2.56] around the box centre (maximum 0)."""
    z = (x - 0.5) * 5.12
    return -(10 * z.shape[1] + (z * z - 10 * torch.cos(2 * math.pi * z)).sum(dim=1)), None


def test_rank_utilities_zero_sum_and_ordered() -> None:
    u = rank_utilities(50)
    assert abs(float(u.sum())) < 1e-5
    assert torch.all(u[:-1] >= u[1:])
    assert float(u[0]) > 0 > float(u[-1])


@pytest.mark.parametrize("name", ["snes", "cmaes", "random"])
def test_candidates_in_box_and_deterministic(name: str) -> None:
    a = make_strategy(name, 10, 12, seed=3)
    b = make_strategy(name, 10, 12, seed=3)
    xa, xb = a.ask(), b.ask()
    assert xa.shape == (12, 10)
    assert float(xa.min()) >= 0.0 and float(xa.max()) <= 1.0
    assert torch.equal(xa, xb)
    c = make_strategy(name, 10, 12, seed=4)
    assert not torch.equal(xa, c.ask())


@pytest.mark.parametrize("name", ["snes", "cmaes"])
def test_es_solves_sphere_and_beats_random(name: str) -> None:
    space = ParamSpace(20)
    es = run_search(sphere, make_strategy(name, 20, 20, seed=0), space, max_evaluations=3000)
    rs = run_search(sphere, make_strategy("random", 20, 20, seed=0), space, max_evaluations=3000)
    assert es.best_fitness > -1e-3, es.best_fitness
    assert es.best_fitness > rs.best_fitness + 0.1
    assert torch.allclose(es.best_params, TARGET, atol=0.05)


@pytest.mark.parametrize("name", ["snes", "cmaes"])
def test_es_beats_random_on_rastrigin(name: str) -> None:
    space = ParamSpace(10)
    es = [run_search(rastrigin, make_strategy(name, 10, 30, seed=s), space, max_evaluations=3000).best_fitness for s in range(3)]
    rs = [run_search(rastrigin, make_strategy("random", 10, 30, seed=s), space, max_evaluations=3000).best_fitness for s in range(3)]
    assert sum(es) / 3 > sum(rs) / 3 + 10, (es, rs)


def test_budget_in_evaluations_whole_generations() -> None:
    res = run_search(sphere, make_strategy("snes", 20, 16, seed=0), ParamSpace(20), max_evaluations=100)
    assert res.evaluations == 96 and res.generations == 6 and res.stopped == "evaluations"
    assert [h[0] for h in res.history] == [16 * (i + 1) for i in range(6)]
    best = [h[1] for h in res.history]
    assert best == sorted(best)  # best so far never decreases


def test_budget_in_seconds() -> None:
    import time

    def slow(x: torch.Tensor):
        time.sleep(0.02)
        return sphere(x)

    res = run_search(slow, make_strategy("snes", 20, 8, seed=0), ParamSpace(20), max_evaluations=None, max_seconds=0.2)
    assert res.stopped == "seconds"
    assert 2 <= res.generations <= 20
    with pytest.raises(ValueError):
        run_search(slow, make_strategy("snes", 20, 8), ParamSpace(20), max_evaluations=None, max_seconds=None)


def test_seconds_budget_starts_no_generation_that_would_overrun_it(monkeypatch) -> None:
    from types import SimpleNamespace

    from lstmabar.models.search import loop

    # a fake clock that each generation's fitness call moves by exactly 0.1 s: no sleeping, no load sensitivity
    now = [0.0]
    monkeypatch.setattr(loop, "time", SimpleNamespace(perf_counter=lambda: now[0], monotonic=lambda: now[0]))

    def slow(x: torch.Tensor):
        now[0] += 0.1
        return sphere(x)

    # generations of 0.1 s against 0.55 s: the sixth would end at 0.6 s, so five run (the old check,
    # after the fact, ran a sixth and ended at 0.6 s)
    res = run_search(slow, make_strategy("snes", 20, 8, seed=0), ParamSpace(20), max_evaluations=None, max_seconds=0.55)
    assert res.stopped == "seconds"
    assert res.generations == 5
    assert res.seconds <= 0.55
def test_early_stopping_on_flat_function() -> None:
    flat = lambda x: (torch.zeros(x.shape[0]), None)  # noqa: E731
    res = run_search(flat, make_strategy("snes", 5, 10), ParamSpace(5), max_evaluations=10_000, patience=5)
    assert res.stopped == "early_stop" and res.generations == 6


def test_seeded_search_is_reproducible() -> None:
    a = run_search(rastrigin, make_strategy("snes", 10, 10, seed=7), ParamSpace(10), max_evaluations=200)
    b = run_search(rastrigin, make_strategy("snes", 10, 10, seed=7), ParamSpace(10), max_evaluations=200)
    assert a.best_fitness == b.best_fitness and torch.equal(a.best_params, b.best_params)


def test_fixed_parameters_never_move() -> None:
    space = ParamSpace(20, {0: 0.9, 5: 0.1})
    seen = []

    def f(x: torch.Tensor):
        seen.append(x.clone())
        return sphere(x)

    res = run_search(f, make_strategy("snes", space.free_dim, 10), space, max_evaluations=200)
    allx = torch.cat(seen)
    assert allx.shape[1] == 20
    assert torch.all(allx[:, 0] == 0.9) and torch.all(allx[:, 5] == 0.1)
    assert float(res.best_params[0]) == pytest.approx(0.9)
    assert torch.allclose(space.reduce(res.best_params), res.best_params[space.free])
    with pytest.raises(ValueError):
        ParamSpace(3, {0: 0.1, 1: 0.2, 2: 0.3})
    with pytest.raises(ValueError):
        ParamSpace(3, {0: 1.5})


def test_start_centre_and_spread() -> None:
    centre = torch.full((20,), 0.8)
    s = make_strategy("snes", 20, 50, center=centre, seed=0)
    x = s.ask()
    assert torch.allclose(s.mean, centre)
    assert abs(float(x.mean()) - 0.8) < 0.05 and float(x.std()) < 0.15
    r = make_strategy("random", 20, 50, center=centre, sigma=0.05, seed=0)
    assert abs(float(r.ask().mean()) - 0.8) < 0.03
    assert isinstance(make_strategy("random", 20, 50), RandomSearch)
    with pytest.raises(ValueError):
        make_strategy("pso", 3)


def test_callback_sees_progress_and_can_stop() -> None:
    class Stop(Exception):
        pass

    gens = []

    def cb(state) -> None:
        gens.append((state.generation, state.evaluations, state.best_fitness))
        if state.generation == 3:
            raise Stop()

    with pytest.raises(Stop):
        run_search(sphere, make_strategy("snes", 20, 10), ParamSpace(20), max_evaluations=1000, on_generation=cb)
    assert [g[:2] for g in gens] == [(1, 10), (2, 20), (3, 30)]


def test_archive_and_overhead_accounting() -> None:
    feats = lambda x: (sphere(x)[0], x * 2)  # noqa: E731
    res = run_search(feats, make_strategy("snes", 20, 10), ParamSpace(20), max_evaluations=100, archive_per_generation=3)
    assert res.archive_params.shape == (30, 20) and res.archive_features.shape == (30, 20)
    assert float(res.archive_fitness.max()) == pytest.approx(res.best_fitness)
    assert res.eval_seconds + res.overhead_seconds == pytest.approx(res.seconds, rel=1e-6)


def test_select_diverse_avoids_near_copies() -> None:
    # Three clusters; the best cluster has many near-identical members with the top scores.
    g = torch.Generator().manual_seed(0)
    a = torch.tensor([1.0, 0.0, 0.0]) + 0.01 * torch.randn(10, 3, generator=g)
    b = torch.tensor([0.0, 1.0, 0.0]) + 0.01 * torch.randn(5, 3, generator=g)
    c = torch.tensor([0.0, 0.0, 1.0]) + 0.01 * torch.randn(5, 3, generator=g)
    feats = torch.cat([a, b, c])
    scores = torch.cat([torch.linspace(0.9, 0.8, 10), torch.linspace(0.7, 0.6, 5), torch.linspace(0.5, 0.4, 5)])
    idx = select_diverse(scores, feats, 3)
    assert idx == [0, 10, 15]
    assert select_diverse(scores, feats, 1) == [0]
    # Asking for more than there are clusters still returns k distinct indices, best first.
    idx5 = select_diverse(scores, feats, 5)
    assert len(set(idx5)) == 5 and idx5[0] == 0
    assert [float(scores[i]) for i in idx5] == sorted((float(scores[i]) for i in idx5), reverse=True)
    # Euclidean metric on parameter vectors works too.
    assert select_diverse(scores, feats, 3, metric="euclidean") == [0, 10, 15]


def test_select_diverse_never_repeats_duplicates() -> None:
    feats = torch.ones(4, 3)
    scores = torch.tensor([0.4, 0.3, 0.2, 0.1])
    assert select_diverse(scores, feats, 3) == [0]
    assert select_diverse(torch.tensor([]), torch.zeros(0, 3), 3) == []


def test_objective_scores_silence_low_and_chunks_consistently(tiny_embedder) -> None:
    from lstmabar.models.search.objective import TextAudioObjective

    t = torch.arange(8000) / 16000

    def render(p: torch.Tensor) -> torch.Tensor:
        f = 100 + 2000 * p[:, :1]
        amp = (p[:, 1:2] > 0.2).float() * p[:, 1:2] * 0.01  # quiet but audible; p1 <= 0.2 is silence
        return amp * torch.sin(2 * math.pi * f * t)

    x = torch.rand(10, 2, generator=torch.Generator().manual_seed(0))
    x[:, 1] = 0.3 + 0.7 * x[:, 1]
    x[3, 1] = 0.0
    whole = TextAudioObjective(render, tiny_embedder, "bright tone", 16000)
    parts = TextAudioObjective(render, tiny_embedder, "bright tone", 16000, chunk=4)
    s1, e1 = whole(x)
    s2, e2 = parts(x)
    assert s1.shape == (10,) and e1.shape == (10, tiny_embedder.dim)
    assert torch.allclose(s1, s2, atol=1e-5)
    assert float(s1[3]) == -1.0 and float(s1[torch.arange(10) != 3].min()) > -1.0
    # Peak normalisation: the level of a render does not change its score.
    louder = TextAudioObjective(lambda p: 50 * render(p), tiny_embedder, "bright tone", 16000)
    assert torch.allclose(louder(x)[0], s1, atol=1e-4)
    assert whole.render_seconds > 0 and whole.embed_seconds > 0 and whole.calls == 1


def test_objective_rejects_inaudible_rumble(tiny_embedder) -> None:
    from lstmabar.models.search.objective import TextAudioObjective, remove_subsonic

    t = torch.arange(32000) / 16000
    rumble = torch.sin(2 * math.pi * 5 * t)[None]  # 5 Hz: below hearing
    tone = torch.sin(2 * math.pi * 440 * t)[None]
    obj = TextAudioObjective(lambda p: torch.cat([rumble, tone + rumble]), tiny_embedder, "tone", 16000)
    s, _ = obj(torch.zeros(2, 1))
    assert float(s[0]) == -1.0 and float(s[1]) > -1.0
    cleaned = remove_subsonic(tone + rumble, 16000)
    assert torch.allclose(cleaned, tone, atol=0.02)
