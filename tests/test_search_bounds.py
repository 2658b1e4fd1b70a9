"""models/search's bounds, minimisation and stopping (issue 21 item 3): what optimize_fx's CMA-ES needs
from the one search loop."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from lstmabar.models.search import ParamSpace, make_strategy, run_search
from lstmabar.models.search.loop import StopSearch

LO, HI = np.array([0.2, 0.0, 0.5]), np.array([0.4, 0.1, 0.9])


def _loss(x: torch.Tensor):
    return ((x - torch.tensor([0.9, 0.9, 0.0], dtype=x.dtype)) ** 2).sum(-1).double(), None


@pytest.mark.parametrize("name", ["snes", "cmaes", "random"])
def test_candidates_stay_in_the_box_and_a_loss_is_minimised(name):
    seen = []

    def f(x):
        seen.append(x.clone())
        return _loss(x)

    s = make_strategy(name, 3, 8, seed=1, bounds=(LO, HI), dtype=torch.float64)
    res = run_search(f, s, ParamSpace(3), max_evaluations=240, minimize=True)
    allx = torch.cat(seen).numpy()
    assert allx.dtype == np.float64
    assert (allx >= LO - 1e-12).all() and (allx <= HI + 1e-12).all()
    # the optimum of the loss inside the box is its corner (0.4, 0.1, 0.5)
    assert np.allclose(res.best_params.numpy(), [0.4, 0.1, 0.5], atol=0.05)
    assert res.best_fitness == pytest.approx(float(_loss(res.best_params[None])[0][0]))
    assert res.history[-1][1] <= res.history[0][1]  # best loss so far only falls
    assert float(res.archive_fitness.min()) == pytest.approx(res.best_fitness)


def test_stop_search_from_evaluate_drops_the_generation():
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) == 3:
            raise StopSearch("out of time")
        return _loss(x)

    res = run_search(f, make_strategy("cmaes", 3, 4, bounds=(LO, HI)), ParamSpace(3), max_evaluations=100, minimize=True)
    assert res.stopped == "out of time" and res.generations == 2 and res.evaluations == 8


def test_stop_search_from_the_callback_and_min_generations_zero():
    def stop(state):
        raise StopSearch("time_budget")

    res = run_search(_loss, make_strategy("snes", 3, 4), ParamSpace(3), max_evaluations=100, on_generation=stop)
    assert res.generations == 1 and res.stopped == "time_budget"
    # a deadline already too close for the expected generation time: nothing runs, the mean comes back
    s = make_strategy("cmaes", 3, 4, center=np.array([0.3, 0.05, 0.7]), bounds=(LO, HI), dtype=torch.float64)
    res = run_search(_loss, s, ParamSpace(3), max_evaluations=100, minimize=True, min_generations=0,
                     expected_generation_s=10.0, deadline=time.monotonic() + 1.0)
    assert res.generations == 0 and res.stopped == "time_budget" and res.archive_params is None
    assert np.allclose(res.best_params.numpy(), [0.3, 0.05, 0.7], atol=1e-5)


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="low < high"):
        make_strategy("snes", 2, 4, bounds=([0.5, 0.0], [0.4, 1.0]))


def test_low_high_pair_in_two_dimensions_is_not_read_as_rows():
    # (low, high) of a 2-d search is a 2 x 2 array too; it must still mean low = (0, 0.2), high = (0.5, 1)
    s = make_strategy("random", 2, 256, seed=0, bounds=([0.0, 0.2], [0.5, 1.0]), dtype=torch.float64)
    x = s.ask().numpy()
    assert x[:, 0].min() >= 0.0 and x[:, 0].max() <= 0.5 and x[:, 0].max() > 0.4
    assert x[:, 1].min() >= 0.2 and x[:, 1].max() <= 1.0 and x[:, 1].min() < 0.3
    # a (d, 2) array of rows keeps its meaning
    s = make_strategy("random", 3, 256, seed=0, bounds=np.stack([LO, HI], axis=1), dtype=torch.float64)
    x = s.ask().numpy()
    assert (x >= LO).all() and (x <= HI).all()
