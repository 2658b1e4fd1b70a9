"""Export the feedback store as a preference dataset (JSONL or Parquet) for reward-model training.

One row per feedback record. ``kind`` is "rating" (a 1-5 score of ``sound_id``) or "pair"
(``sound_id`` was preferred over ``other_sound_id``; a pair may also carry a rating). Parameters are
JSON strings so the schema is fixed whatever tool made the sound. Schema: ``EXPORT_SCHEMA``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from .records import SoundRecord
from .store import SoundLibrary

EXPORT_COLUMNS: dict[str, str] = {
    "feedback_id": "string",
    "created_at": "string (RFC 3339 in UTC with its offset, e.g. 2026-01-02T03:04:05.678901+00:00)",
    "kind": "string: rating | pair",
    "sound_id": "string",
    "prompt": "string or null",
    "tool": "string",
    "params_json": "string (JSON object, parameters with units)",
    "audio_path": "string (WAV file)",
    "rating": "int 1-5 or null",
    "other_sound_id": "string or null (the sound liked less)",
    "other_prompt": "string or null",
    "other_tool": "string or null",
    "other_params_json": "string or null",
    "other_audio_path": "string or null",
    "comment": "string or null",
    "tags": "list of string",
    "rater_id": "string or null",
    "reward": "float or null (reward model's score of sound_id, when a model exists)",
    "other_reward": "float or null",
    "reward_version": "string or null",
}

Scorer = Callable[[SoundRecord], float]


def feedback_rows(lib: SoundLibrary, scorer: Scorer | None = None, reward_version: str | None = None) -> list[dict[str, Any]]:
    cache: dict[str, SoundRecord] = {}

    def rec(sid: str) -> SoundRecord:
        if sid not in cache:
            cache[sid] = lib.get(sid)
            lib.wav_path(sid)  # with a shared blob store, fetch the WAV so audio_path exists on this machine
        return cache[sid]

    rows = []
    for fb in lib.feedback():
        a = rec(fb.sound_id)
        b = rec(fb.preferred_over) if fb.preferred_over else None
        rows.append(
            {
                "feedback_id": fb.id,
                "created_at": fb.created_at.isoformat(),
                "kind": "pair" if b else "rating",
                "sound_id": a.id,
                "prompt": a.prompt,
                "tool": a.tool,
                "params_json": json.dumps(a.params, sort_keys=True),
                "audio_path": a.path,
                "rating": fb.rating,
                "other_sound_id": b.id if b else None,
                "other_prompt": b.prompt if b else None,
                "other_tool": b.tool if b else None,
                "other_params_json": json.dumps(b.params, sort_keys=True) if b else None,
                "other_audio_path": b.path if b else None,
                "comment": fb.comment,
                "tags": list(fb.tags),
                "rater_id": fb.rater_id,
                "reward": scorer(a) if scorer else None,
                "other_reward": scorer(b) if scorer and b else None,
                "reward_version": reward_version if scorer else None,
            }
        )
    return rows


def export_feedback(
    lib: SoundLibrary, out: Path, *, fmt: str = "jsonl", scorer: Scorer | None = None, reward_version: str | None = None
) -> int:
    rows = feedback_rows(lib, scorer, reward_version)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    if fmt == "jsonl":
        with open(tmp, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema()), tmp)
    else:
        raise ValueError(f"unknown format {fmt!r}; use jsonl or parquet")
    tmp.replace(out)
    return len(rows)


def arrow_schema():
    import pyarrow as pa

    s, i, f = pa.string(), pa.int64(), pa.float64()
    types = {"rating": i, "tags": pa.list_(s), "reward": f, "other_reward": f}
    return pa.schema([(name, types.get(name, s)) for name in EXPORT_COLUMNS])
