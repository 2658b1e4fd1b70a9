"""match_sound's finishing step (spectrogram, descriptions, saving): the time kept for it is measured, not assumed."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

from lstmabar.library.audio_input import AudioInput  # noqa: E402
from lstmabar.library.audio_io import encode_wav  # noqa: E402
from lstmabar.tools.base import ToolContext  # noqa: E402


def test_finish_reserve_is_the_slowest_recent_finishing_step_and_never_under_its_floor():
    from lstmabar.tools.match_sound import FinishReserve

    r = FinishReserve(1.5, keep=3)
    assert r.seconds() == 1.5
    r.record(3.2)
    assert r.seconds() == pytest.approx(3.2)
    for _ in range(3):  # the slow one drops out of the window
        r.record(0.4)
    assert r.seconds() == 1.5


@pytest.mark.slow
def test_a_slow_finishing_step_is_kept_out_of_the_next_calls_budget(tool_ctx: ToolContext, monkeypatch):
    """With a finishing step 3 s slower than the fixed 1.5 s reserve, the call records what it measured and the
    next call gives the search that much less of its budget (read from the budget handed to the matcher, not
    from wall-clock totals, so a busy machine cannot fail it)."""
    from lstmabar.tools import match_sound as ms

    real_png = ms.spectrogram_png

    def slow_png(*a, **k):
        time.sleep(3.0)
        return real_png(*a, **k)

    monkeypatch.setattr(ms, "spectrogram_png", slow_png)
    monkeypatch.setattr(ms, "FINISH", ms.FinishReserve(ms.FINISH_RESERVE_S))
    matcher = ms.get_matcher(tool_ctx, "subtractive")  # loaded beforehand, as a running server holds it
    given: list[float] = []
    real_match = matcher.match

    def match(*a, budget_s: float, **k):
        given.append(budget_s)
        return real_match(*a, budget_s=budget_s, **k)

    monkeypatch.setattr(matcher, "match", match)
    sr = 16_000
    t = np.arange(sr) / sr
    wav = encode_wav((0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-3 * t))[None].astype(np.float32), sr)
    inp = ms.Input(audio=AudioInput(base64=base64.b64encode(wav).decode()), time_budget_s=6.0)

    def call():  # a context per call: its budget counts from its creation, as a server makes one per request
        return ms.TOOL.run(inp, ToolContext(library=tool_ctx.library, config=tool_ctx.config, models=tool_ctx.models)).output.timing

    call()
    assert given[0] <= 6.0 - ms.FINISH_RESERVE_S + 1e-6  # the first call kept only the fixed reserve
    measured = ms.FINISH.seconds()
    assert measured >= 3.0  # the slow finishing step was recorded
    call()
    assert given[1] <= 6.0 - measured + 1e-6  # and the next call kept that much aside
