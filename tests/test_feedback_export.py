"""`lstmabar feedback export`: the preference dataset as JSONL and Parquet, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from lstmabar.library.config import Config
from lstmabar.library.export import EXPORT_COLUMNS
from lstmabar.library.store import SoundLibrary
from lstmabar.server import cli


def _library(out: Path) -> tuple[str, str]:
    lib = SoundLibrary(Config(output_dir=out))
    a = lib.add(np.zeros(480, np.float32) + 0.1, 48_000, tool="synthesize_from_text", prompt="warm pad",
                params={"vco_1.tuning": {"value": 0.5, "unit": "semitones"}}).id
    b = lib.add(np.zeros(480, np.float32) + 0.2, 48_000, tool="synthesize_from_text", prompt="warm pad").id
    lib.add_feedback(a, rating=5, comment="lovely", tags=["warm"], rater_id="r1")
    lib.add_feedback(a, preferred_over=b, rater_id="r1")
    lib.close()
    return a, b


def test_export_jsonl_and_parquet(tmp_path: Path) -> None:
    out = tmp_path / "lib"
    a, b = _library(out)
    jl = tmp_path / "fb.jsonl"
    assert cli.main(["feedback", "export", "--format", "jsonl", "--out", str(jl), "--output-dir", str(out)]) == 0
    rows = [json.loads(line) for line in jl.read_text().splitlines()]
    assert [r["kind"] for r in rows] == ["rating", "pair"]
    assert set(rows[0]) == set(EXPORT_COLUMNS)
    assert rows[0]["rating"] == 5 and rows[0]["prompt"] == "warm pad" and rows[0]["tags"] == ["warm"]
    assert json.loads(rows[0]["params_json"])["vco_1.tuning"]["unit"] == "semitones"
    assert Path(rows[0]["audio_path"]).is_file()
    assert (rows[1]["sound_id"], rows[1]["other_sound_id"]) == (a, b)

    pqf = tmp_path / "fb.parquet"
    assert cli.main(["feedback", "export", "--format", "parquet", "--out", str(pqf), "--output-dir", str(out)]) == 0
    table = pq.read_table(pqf)
    assert table.num_rows == 2 and table.schema.names == list(EXPORT_COLUMNS)
    assert table.column("other_sound_id").to_pylist() == [None, b]
    assert not list(tmp_path.glob("*.partial"))
