"""Train the change reader (``reader.py``) on the refinement steps of the prompt set.

    python -m lstmabar.models.brief.train_reader [--exclude held_out_13,held_out_14] [--out models/brief/change_reader.npz]

Every chain step of ``benchmarks/data/synth_prompts.json`` whose split is not excluded is one example: its
prompt's frozen MiniLM vector and the changes its ``change`` list demands. The blind split of the day is
excluded so that it stays a test of the reader.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .reader import WEIGHTS, fit, step_changes

PROMPT_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "synth_prompts.json"


def examples(data: dict, exclude: set[str]) -> tuple[list[str], list[set[str]], list[str]]:
    """(prompts, changes, splits) of every chain step outside ``exclude``."""
    texts, changes, splits = [], [], []
    for chain in data["chains"]:
        if chain["split"] in exclude:
            continue
        for step in chain["steps"]:
            texts.append(step["prompt"])
            changes.append(step_changes(step))
            splits.append(chain["split"])
    return texts, changes, splits


def sentence_vectors(texts: list[str]) -> np.ndarray:
    from lstmabar.models.fx.crowd.prior import embed_texts

    return embed_texts(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=PROMPT_SET)
    ap.add_argument("--exclude", default="held_out_13,held_out_14", help="comma-separated chain splits left out of training (the blind ones)")
    ap.add_argument("--c", type=float, default=4.0, help="inverse L2 strength of each logistic output")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args()
    exclude = {s for s in args.exclude.split(",") if s}
    texts, changes, splits = examples(json.loads(args.data.read_text()), exclude)
    used = sorted(set(splits))
    reader = fit(sentence_vectors(texts), changes, c=args.c,
                 trained_on=f"{len(texts)} refinement steps of {args.data.name} (splits {', '.join(used)}; excluded {', '.join(sorted(exclude)) or 'none'}), C={args.c:g}")
    reader.save(args.out)
    print(f"{args.out}: {len(reader.changes)} changes from {reader.trained_on}")


if __name__ == "__main__":
    main()
