"""An effect chain: choosing it from words, its optimisable slots, and its settings in physical units.

The effects themselves (plugins, parameters, ranges, twins, tails) are declared once in ``effects.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .effects import (  # noqa: F401  (re-exported: the chain's vocabulary)
    EFFECT_NAMES,
    EFFECTS,
    FILTER_EFFECTS,
    MAX_FREQ_FRACTION,
    SHELF_Q,
    TAIL_EFFECTS,
    Effect,
    EffectName,
    FxParam,
    FxStage,
    clamp_frequency,
    effect,
    stage_arguments,
    walk,
)

# Words -> effects for the default chain (each effect's ``keywords``), in the effects' ``chain_order``.
CANONICAL_ORDER: tuple[str, ...] = tuple(sorted(EFFECTS, key=lambda n: EFFECTS[n].chain_order))
_KEYWORDS: dict[str, tuple[str, ...]] = {n: e.keywords for n, e in EFFECTS.items() if e.keywords}


def keyword_effect(word: str) -> str | None:
    """The effect a single word names in the menu's keywords (None when no keyword matches)."""
    w = word.strip().lower()
    for fx, keys in _KEYWORDS.items():
        if w in keys:
            return fx
    return None


def default_chain(prompt: str) -> list[str]:
    """The chain implied by the prompt's words (EQ alone when nothing more specific is named)."""
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    picked = {fx for fx, keys in _KEYWORDS.items() if words & set(keys)}
    if not picked - {"eq"}:
        picked.add("eq")
    return [fx for fx in CANONICAL_ORDER if fx in picked]


_STRENGTH_WORDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.25, ("a bit", "a little", "slightly", "a touch", "subtly", "somewhat", "a tad", "barely", "mildly", "little")),
    (1.0, ("much", "very", "a lot", "lots", "extremely", "really", "super", "way", "heavily", "massively", "far", "drastically")),
)
DEFAULT_STRENGTH = 0.5


def strength_from_prompt(prompt: str) -> float:
    """0.25 for "a bit/slightly ...", 1.0 for "much/very ...", 0.5 otherwise."""
    p = " " + re.sub(r"[^a-z ]", " ", prompt.lower()) + " "
    for value, words in _STRENGTH_WORDS:
        if any(f" {w} " in p for w in words):
            return value
    return DEFAULT_STRENGTH


@dataclass(frozen=True)
class Slot:
    """One optimisable number of a chain: effect position, stage and parameter."""

    effect_index: int
    effect: str
    stage: FxStage
    param: FxParam

    @property
    def key(self) -> str:
        return f"{self.effect_index}:{self.effect}.{self.stage.label}.{self.param.name}"

    @property
    def differentiable(self) -> bool:
        return EFFECTS[self.effect].differentiable

    @property
    def is_amount(self) -> bool:
        """Parameters that set how much of the effect is applied; ``strength`` bounds only these."""
        return self.param.amount


def chain_slots(chain: list[str]) -> list[Slot]:
    return [Slot(i, name, stage, p) for i, name in enumerate(chain) for stage in effect(name).stages for p in stage.params]


def neutral_normalized(chain: list[str]) -> np.ndarray:
    return np.array([s.param.to_normalized(s.param.neutral) for s in chain_slots(chain)], dtype=np.float64)


def physical_settings(chain: list[str], normalized: np.ndarray, sample_rate: int) -> list[dict[str, Any]]:
    """Normalised vector -> per effect, per plugin: pedalboard arguments with units."""
    out: list[dict[str, Any]] = [{"effect": name, "plugins": []} for name in chain]
    for i, _name, stage, xs in walk(chain, normalized):
        args = stage_arguments(stage, xs, sample_rate)
        params: dict[str, dict[str, Any]] = {p.name: {"value": round(args[p.name], 6), "unit": p.unit} for p in stage.params}
        params.update({fname: {"value": fval, "unit": "", "fixed": True} for fname, fval in stage.fixed.items()})
        out[i]["plugins"].append({"plugin": stage.plugin, "stage": stage.label, "params": params})
    return out


def settings_to_normalized(chain: list[str], settings: list[dict[str, Any]]) -> np.ndarray:
    """Inverse of ``physical_settings`` for the effects present in both (others stay neutral)."""
    x = neutral_normalized(chain)
    by_effect: dict[str, list[dict[str, Any]]] = {}
    for eff in settings:
        by_effect.setdefault(eff.get("effect", ""), []).append(eff)
    used: dict[str, int] = {}
    sources: list[dict[str, Any] | None] = []  # per chain position, the stored settings of that occurrence
    for name in chain:
        stored, j = by_effect.get(name, []), used.get(name, 0)
        sources.append(stored[j] if j < len(stored) else None)
        used[name] = j + 1
    for i, name, stage, xs in walk(chain, x):  # xs: a view into x
        src = sources[i]
        if src is None:
            continue
        plugs = src.get("plugins", [])
        si = EFFECTS[name].stages.index(stage)
        plug = next((pl for pl in plugs if pl.get("stage") == stage.label), plugs[si] if si < len(plugs) else None)
        for j, p in enumerate(stage.params):
            if plug is not None and p.name in plug.get("params", {}):
                val = plug["params"][p.name]
                xs[j] = p.to_normalized(val["value"] if isinstance(val, dict) else val)
    return x


def pedalboard_code(settings: list[dict[str, Any]], sample_rate: int) -> str:
    """A short Python snippet rebuilding the chain with pedalboard."""
    plugins = []
    for eff in settings:
        for pl in eff["plugins"]:
            args = ", ".join(f"{n}={_fmt(v['value'])}" for n, v in pl["params"].items())
            plugins.append(f"    {pl['plugin']}({args}),  # {eff['effect']}")
    names = sorted({pl["plugin"] for eff in settings for pl in eff["plugins"]})
    return (
        f"from pedalboard import Pedalboard, {', '.join(names)}\n"
        "from pedalboard.io import AudioFile\n\n"
        "board = Pedalboard([\n" + "\n".join(plugins) + "\n])\n"
        "with AudioFile('input.wav') as f:\n"
        "    audio, sr = f.read(f.frames), f.samplerate\n"
        "# pad with silence first to keep reverb/delay tails, e.g. numpy.pad(audio, ((0, 0), (0, 2 * sr)))\n"
        "processed = board(audio, sr)\n"
        f"# optimised at {sample_rate} Hz\n"
    )


def _fmt(v: float) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v)


def menu_description() -> str:
    return "; ".join(f"{n}: {e.description}" for n, e in EFFECTS.items())
