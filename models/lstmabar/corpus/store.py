"""Reading a built corpus: ``Corpus(path)`` gives the manifest, the clip and triplet rows, their cached
full-band log-mels, and their waveforms (from the shards when kept, else rendered again from the spec,
which gives the same samples)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class Corpus:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        mf = self.path / "manifest.json"
        if not mf.is_file():
            raise FileNotFoundError(f"no corpus at {self.path} (manifest.json missing); build one with `lstmabar data build --out {self.path}`")
        self.manifest = json.loads(mf.read_text())
        self.clips = self._rows("clips.jsonl")
        self.triplets = self._rows("triplets.jsonl")
        self.by_id = {r["id"]: r for r in self.clips + self.triplets}
        self._sources = None
        self._shards: dict[str, dict[str, np.ndarray]] = {}

    def _rows(self, name: str) -> list[dict]:
        with open(self.path / name) as f:
            return [json.loads(line) for line in f]

    def _shard(self, name: str) -> dict[str, np.ndarray]:
        if name not in self._shards:
            with np.load(self.path / "shards" / name) as z:
                self._shards[name] = {k: z[k] for k in z.files}
        return self._shards[name]

    def mels(self, ids: list[str]) -> np.ndarray:
        """(N, n_mels, frames) float16, in the order of ``ids``."""
        out = []
        for i in ids:
            r = self.by_id[i]
            out.append(self._shard(r["shard"])["mels"][r["row"]])
        return np.stack(out)

    def audio(self, ids: list[str]) -> np.ndarray:
        """(N, samples) float32 at the corpus sample rate."""
        from .build import Sources, render_clip, render_triplet

        out = []
        for i in ids:
            r = self.by_id[i]
            sh = self._shard(r["shard"])
            if "audio_ids" in sh:
                hit = np.flatnonzero(sh["audio_ids"] == i)
                if len(hit):
                    out.append(sh["audio"][hit[0]].astype(np.float32) / 32767.0)
                    continue
            if self._sources is None:
                self._sources = Sources({k: v["path"] for k, v in self.manifest["sources"].items() if k in ("fluidr3", "timgm6mb")},
                                        self.manifest["sources"].get("sonicpi", {}).get("path", "/nonexistent"))
            if r["id"].startswith("tr-"):
                dry, _ = render_clip(self.by_id[r["dry"]], self._sources)
                out.append(render_triplet(r, dry)[0])
            else:
                out.append(render_clip(r, self._sources)[0])
        return np.stack(out)

    @property
    def sample_rate(self) -> int:
        return int(self.manifest["sample_rate"])
