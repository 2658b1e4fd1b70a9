"""The refinement benchmark's judge (benchmarks.synthesize.step_judgement): a modulation rate asked by direction."""

from __future__ import annotations

from benchmarks.synthesize import step_judgement


def _change_ok(change: dict, before: dict, after: dict) -> bool:
    return step_judgement({"change": [change]}, before, after)["change_ok"]


def test_a_rate_asked_by_direction_moves_by_a_quarter_and_0_3_hz() -> None:
    slower = {"d": "am_rate_hz", "dir": "down"}
    assert _change_ok(slower, {"am_rate_hz": 6.0}, {"am_rate_hz": 4.5})
    assert not _change_ok(slower, {"am_rate_hz": 6.0}, {"am_rate_hz": 5.5})  # x1.09: not a noticeable step
    assert not _change_ok(slower, {"am_rate_hz": 1.0}, {"am_rate_hz": 0.8})  # x1.25 but only 0.2 Hz
    assert not _change_ok(slower, {"am_rate_hz": 6.0}, {"am_rate_hz": 7.5})  # the wrong way
    assert not _change_ok({"d": "vibrato_rate_hz", "dir": "up"}, {"vibrato_rate_hz": None}, {"vibrato_rate_hz": 6.0})  # no rate to move from
