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


def test_said_off_counts_the_misses_the_tool_reported_and_the_silent_ones() -> None:
    from benchmarks.synthesize import said_off

    def row(change_ok: bool, keep_ok: bool, met: int, n: int, cannot: int = 0) -> dict:
        return {"change_ok": change_ok, "keep_ok": keep_ok, "brief_met": met, "brief_n": n, "cannot": cannot}

    rows = [row(True, True, 3, 3), row(False, True, 2, 3), row(True, False, 3, 3), row(False, True, 3, 3, cannot=1), row(True, True, 2, 3)]
    assert said_off(rows) == {"misses": 3, "misses_said": 2, "misses_silent": 1, "hits_said_off": 1, "cannot_steps": 1}
    assert said_off([{k: v for k, v in row(False, True, 3, 3).items() if k != "cannot"}])["misses_silent"] == 1  # rows from before 'cannot'
