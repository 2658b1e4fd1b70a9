"""interpolate_sounds: steps between two Voice patches, lineage, scores against both prompts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstmabar.library.errors import ToolError

torch.set_num_threads(1)

interp = pytest.importorskip("lstmabar.tools.interpolate_sounds")
from lstmabar.models.synth.patch import Patch  # noqa: E402


def add_patch_sound(ctx, x: torch.Tensor, prompt: str | None):
    p = Patch.from_normalized(x)
    audio = p.render(sample_rate=48000, seconds=0.5, seed=0)
    return ctx.library.add(
        np.asarray(audio, np.float32).reshape(1, -1), 48000, tool="synthesize_from_text", prompt=prompt,
        params=p.physical(), extra={"patch_normalized": [float(v) for v in x]},
    )


def test_steps_between_two_patches(ctx) -> None:
    g = torch.Generator().manual_seed(0)
    xa, xb = torch.rand(78, generator=g), torch.rand(78, generator=g)
    a = add_patch_sound(ctx, xa, "glassy bell")
    b = add_patch_sound(ctx, xb, "dark drone")
    out = interp.run(interp.Input(a=a.id, b=b.id, steps=3), ctx)
    o = out.output
    assert [s.t for s in o.steps] == [0.25, 0.5, 0.75]
    assert len(out.sounds) == 3 and len(out.audio_previews) == 3 and out.images[0][:4] == b"\x89PNG"
    for s in o.steps:
        rec = ctx.library.get(s.sound.id)
        assert sorted(rec.parents) == sorted([a.id, b.id])
        x = torch.tensor(rec.extra["patch_normalized"])
        assert torch.allclose(x, (1 - s.t) * xa + s.t * xb, atol=1e-5)
        assert rec.duration_s == pytest.approx(0.5)
        assert set(s.scores) == {"a: glassy bell", "b: dark drone"}
    assert len(o.changed_most) == 6


def test_include_ends_and_no_prompt_scores(ctx) -> None:
    g = torch.Generator().manual_seed(1)
    a = add_patch_sound(ctx, torch.rand(78, generator=g), None)
    b = add_patch_sound(ctx, torch.rand(78, generator=g), "siren")
    before = ctx.library.count()
    o = interp.run(interp.Input(a=a.id, b=b.id, steps=2, include_ends=True), ctx).output
    assert [round(s.t, 3) for s in o.steps] == [0.0, 0.333, 0.667, 1.0]
    assert o.steps[0].sound is None and o.steps[0].source == a.id and o.steps[-1].source == b.id
    assert ctx.library.count() == before + 2
    assert all(s.scores == {} for s in o.steps)  # a has no prompt: nothing to score against


def test_interpolate_rejects_bad_inputs(ctx) -> None:
    a = add_patch_sound(ctx, torch.full((78,), 0.5), "x")
    other = ctx.library.add(np.zeros((1, 4800), np.float32) + 0.1, 48000, tool="import_sound")
    with pytest.raises(ToolError, match="same sound"):
        interp.run(interp.Input(a=a.id, b=a.id), ctx)
    with pytest.raises(ToolError, match="no Voice synth patch"):
        interp.run(interp.Input(a=a.id, b=other.id), ctx)
    with pytest.raises(ToolError, match="No sound"):
        interp.run(interp.Input(a=a.id, b="snd_nope"), ctx)
