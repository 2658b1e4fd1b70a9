"""The real-sound corpus build as measured by `lstmabar data build` itself: its manifest's counts, timing
and machine -> docs/results/corpus_build.json. ``python -m benchmarks.corpus_build --corpus DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lstmabar.models.lstmabar.corpus.store import Corpus

from ._report import write_report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    m = Corpus(ap.parse_args(argv).corpus).manifest
    c, t = m["counts"], m["timing"]
    figs = {"scale": m["scale"], "seed": m["seed"], "jobs": m["jobs"], "complete": m["complete"], "built": m["created"],
            "build_machine": m["machine"], "clips": c["clips"], "triplets": c["triplets"],
            **{f"clips_{k}": v for k, v in c["clips_by_source"].items()}, **{f"triplets_{k}": v for k, v in c["triplets_by_split"].items()},
            "clips_silent_dropped": c["clips_silent_dropped"], **t}
    md = f"""
`lstmabar data build --scale {m['scale']} --seed {m['seed']} --jobs {m['jobs']}`, built {m['created']} on {m['machine']}
(other work shared the machine): {c['clips']:,} clips ({", ".join(f"{k} {v:,}" for k, v in c['clips_by_source'].items())};
{c['clips_silent_dropped']} planned notes rendered silent and were dropped), {c['triplets']:,} triplets
({", ".join(f"{k} {v:,}" for k, v in c['triplets_by_split'].items())}). Wall time {t['seconds_total'] / 60:.1f} min with
{m['jobs']} processes; {t['estimated_full_seconds_one_core'] / 60:.0f} min of one core ({t['seconds_per_clip'] * 1000:.0f} ms a clip,
{t['seconds_per_triplet'] * 1000:.0f} ms a triplet). Figures from the build's own manifest.json.
"""
    write_report("corpus_build", figs, md)


if __name__ == "__main__":
    main()
