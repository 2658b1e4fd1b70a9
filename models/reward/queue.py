"""Which sounds most need ratings: the least-judged sounds, and the closest uncompared pairs made for
the same prompt (closest by the reward model's prediction when one is given, else by the sounds' own
stored scores). Shared by the sounds_to_rate tool and the /rate page."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from lstmabar.library.records import SoundRecord


@dataclass
class Candidate:
    record: SoundRecord
    ratings: int = 0
    comparisons: int = 0
    mean_rating: float | None = None
    reward: float | None = None

    @property
    def judgements(self) -> int:
        return self.ratings + self.comparisons


@dataclass
class PairCandidate:
    a: Candidate
    b: Candidate
    gap: float | None
    basis: str  # "reward", "score:<name>" or "none"


@dataclass
class Queue:
    singles: list[Candidate] = field(default_factory=list)
    pairs: list[PairCandidate] = field(default_factory=list)
    unjudged: int = 0  # sounds in the pool with no rating and no comparison
    pool: int = 0


def _numeric_score(rec: SoundRecord) -> tuple[str, float] | None:
    for k, v in sorted((rec.scores or {}).items()):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return k, float(v)
    return None


def build_queue(
    library,
    *,
    limit: int = 5,
    prompt_contains: str | None = None,
    tool: str | None = None,
    pool: int = 300,
    exclude: set[str] | frozenset[str] = frozenset(),
    rewards: dict[str, float] | None = None,
    records: list[SoundRecord] | None = None,
) -> Queue:
    recs = records if records is not None else library.list(tool=tool, prompt_contains=prompt_contains, limit=pool)
    recs = [r for r in recs if r.id not in exclude]
    cands = {r.id: Candidate(r, reward=(rewards or {}).get(r.id)) for r in recs}
    sums: dict[str, list[int]] = {}
    compared: set[frozenset[str]] = set()
    for fb in library.feedback():
        if fb.rating is not None and fb.sound_id in cands:
            cands[fb.sound_id].ratings += 1
            sums.setdefault(fb.sound_id, []).append(fb.rating)
        if fb.preferred_over:
            compared.add(frozenset((fb.sound_id, fb.preferred_over)))
            for sid in (fb.sound_id, fb.preferred_over):
                if sid in cands:
                    cands[sid].comparisons += 1
    for sid, vals in sums.items():
        cands[sid].mean_rating = round(sum(vals) / len(vals), 3)

    order = list(cands.values())  # newest first (library.list order)
    rank = {c.record.id: i for i, c in enumerate(order)}
    singles = sorted(order, key=lambda c: (c.judgements, rank[c.record.id]))[:limit]

    groups: dict[str, list[Candidate]] = {}
    for c in order:
        if c.record.prompt:
            groups.setdefault(c.record.prompt.strip().lower(), []).append(c)
    pairs: list[PairCandidate] = []
    for members in groups.values():
        members = members[:40]
        for a, b in combinations(members, 2):
            if frozenset((a.record.id, b.record.id)) in compared:
                continue
            if a.reward is not None and b.reward is not None:
                gap, basis = abs(a.reward - b.reward), "reward"
            else:
                sa, sb = _numeric_score(a.record), _numeric_score(b.record)
                if sa and sb and sa[0] == sb[0]:
                    gap, basis = abs(sa[1] - sb[1]), f"score:{sa[0]}"
                else:
                    gap, basis = None, "none"
            pairs.append(PairCandidate(a, b, gap, basis))
    pairs.sort(key=lambda p: (p.a.judgements + p.b.judgements, p.gap if p.gap is not None else 0.0, rank[p.a.record.id]))
    unjudged = sum(1 for c in order if c.judgements == 0)
    return Queue(singles=singles, pairs=pairs[:limit], unjudged=unjudged, pool=len(order))


def candidate_json(c: Candidate) -> dict[str, Any]:
    r = c.record
    return {
        "id": r.id,
        "prompt": r.prompt,
        "tool": r.tool,
        "duration_s": round(r.duration_s, 3),
        "ratings": c.ratings,
        "comparisons": c.comparisons,
        "mean_rating": c.mean_rating,
        "reward": c.reward,
    }
