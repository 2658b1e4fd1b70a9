"""LSTMABAR on real sound (issue 16, section 3): instruments by name, and the crowd's words as directions.

    python -m benchmarks.lstmabar_real --corpus DIR [--baseline CHECKPOINT]

Reads a corpus built by ``lstmabar data build`` (its held-out parts only) and scores the shipped
weights (and, with ``--baseline``, another checkpoint on the same items) -> docs/results/lstmabar_real.json.

(a) Real instruments by name. Each held-out GM program's plain caption ("a marimba note") ranks all
    held-out programs' FluidR3 renders (notes, chords, phrases); a render is relevant when it has that
    plain name (programs GM only numbers share one). Per query: recall@1 (the top render is relevant),
    recall@10 (one of the top 10 is), the rank of the first relevant render; chance from the same
    counts (exact for recall, by random permutations for the median rank). Also the other direction:
    each render's best-matching name among the held-out names (top-1, chance 1 / names). The same on
    the second soundfont (TimGM6mb, never trained on) for the training programs: domain shift.
(b) The crowd's words, directionally. For a held-out crowd word w and a held-out instrument note x:
    d_a = E_audio(fx_w(x)) - E_audio(x), d_t = E_text("a w sound") - E_text("a sound"). A pair
    (w, w') scores 1 when cos(d_a(w, x), d_t(w)) > cos(d_a(w', x), d_t(w)) for another held-out word
    w' of the same effect on the same note (0.5 on a tie); the accuracy is the mean over notes and
    ordered word pairs (chance 50 %), per effect, with a 95 % bootstrap interval over words. fx_w is
    the mean of w's crowd contributions at the corpus's evaluation amount. A second text pair, written
    down before any figure was seen, uses the instrument: "a <name> note, made w" - "a <name> note".
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

import numpy as np
import torch
from lstmabar.models.lstmabar.corpus import split
from lstmabar.models.lstmabar.corpus.gm import article
from lstmabar.models.lstmabar.corpus.store import Corpus
from lstmabar.models.lstmabar.directions import name_query, pairwise_accuracy
from lstmabar.models.lstmabar.embedder import WEIGHTS, load_lstmabar_embedder

from ._report import write_report

EFFECTS = ("eq", "reverb", "compressor")
BOOT = 1000
SEED = 0


def _audio_embed(emb, corpus: Corpus, ids: list[str], batch: int = 64) -> torch.Tensor:
    out = []
    for i in range(0, len(ids), batch):
        x = torch.from_numpy(corpus.audio(ids[i : i + batch]))
        with torch.no_grad():
            out.append(emb.embed_audio(x, corpus.sample_rate).float().cpu())
    return torch.cat(out)


def _chance_median_rank(n_rel: list[int], n: int, rng: np.random.Generator, reps: int = 2000) -> float:
    """Median over queries of the first relevant rank under random orderings, averaged over repetitions."""
    meds = []
    for _ in range(reps):
        ranks = []
        for k in n_rel:
            # the first of k relevant items among n in a random order: min of k distinct uniform positions
            ranks.append(int(rng.choice(n, size=k, replace=False).min()) + 1)
        meds.append(float(np.median(ranks)))
    return float(np.mean(meds))


def retrieval(emb, corpus: Corpus, rows: list[dict], rng: np.random.Generator) -> dict[str, float]:
    """Name -> render retrieval among ``rows`` (renders), queries = their distinct plain names."""
    names = sorted({r["name"] for r in rows})
    unit = {r["name"]: r["unit"] for r in rows}
    queries = [name_query(n, unit[n]) for n in names]
    a = _audio_embed(emb, corpus, [r["id"] for r in rows])
    t = emb.embed_text(queries).float().cpu()
    sims = (t @ a.T).numpy()  # (names, renders)
    label = np.array([names.index(r["name"]) for r in rows])
    n = len(rows)
    first, r1, r10 = [], [], []
    for q in range(len(names)):
        order = np.argsort(-sims[q], kind="stable")
        rel = np.flatnonzero(label[order] == q)
        first.append(int(rel[0]) + 1)
        r1.append(float(rel[0] == 0))
        r10.append(float(rel[0] < 10))
    n_rel = [int((label == q).sum()) for q in range(len(names))]
    chance_r1 = float(np.mean([k / n for k in n_rel]))
    chance_r10 = float(np.mean([1 - math.comb(n - k, min(10, n)) / math.comb(n, min(10, n)) for k in n_rel]))
    top1 = float((sims.argmax(0) == label).mean())  # render -> its name among the names
    return {
        "names": float(len(names)), "renders": float(n),
        "recall_at_1": float(np.mean(r1)), "recall_at_10": float(np.mean(r10)), "median_rank": float(np.median(first)),
        "mean_rank": float(np.mean(first)),
        "chance_recall_at_1": chance_r1, "chance_recall_at_10": chance_r10,
        "chance_median_rank": _chance_median_rank(n_rel, n, rng),
        "render_to_name_top1": top1, "chance_render_to_name_top1": 1.0 / len(names),
    }


def directional(emb, corpus: Corpus, effect: str, rng: np.random.Generator) -> dict[str, float]:
    trips = [t for t in corpus.triplets if t["split"] == "test" and t["effect"] == effect]
    if not trips:
        return {}
    words = sorted({t["words"][0] for t in trips})
    notes = sorted({t["dry"] for t in trips})
    wi, ni = {w: i for i, w in enumerate(words)}, {d: i for i, d in enumerate(notes)}
    dry = _audio_embed(emb, corpus, notes)
    wet = _audio_embed(emb, corpus, [t["id"] for t in trips])
    da = torch.full((len(words), len(notes), dry.shape[1]), float("nan"))
    for t, e in zip(trips, wet):
        da[wi[t["words"][0]], ni[t["dry"]]] = e - dry[ni[t["dry"]]]
    same = torch.nn.functional.cosine_similarity(wet, torch.stack([dry[ni[t["dry"]]] for t in trips]), dim=-1)
    out = {"words": float(len(words)), "notes": float(len(notes)), "triplets": float(len(trips)),
           "audio_cos_dry_processed": float(same.mean()), "audio_delta_norm": float((wet - torch.stack([dry[ni[t["dry"]]] for t in trips])).norm(dim=-1).mean())}
    plain = emb.embed_text([f"{article(w)} {w} sound" for w in words]) - emb.embed_text(["a sound"])
    out.update(_pairwise(da, plain.float().cpu(), rng, "plain"))
    # the instrument-aware pair: one text direction per (word, note)
    dry_rows = {d: corpus.by_id[d] for d in notes}
    base = [name_query(dry_rows[d]["name"], dry_rows[d]["unit"]) for d in notes]
    made = [f"{b}, made {w}" for w in words for b in base]
    dt = (emb.embed_text(made).float().cpu().view(len(words), len(notes), -1) - emb.embed_text(base).float().cpu()[None])
    out.update(_pairwise(da, dt, rng, "instrument"))
    return out


def directional_seen_words(emb, corpus: Corpus, effect: str, rng: np.random.Generator, n_words: int = 40) -> dict[str, float]:
    """The same pairwise test with words the model trained on (each word's mean crowd setting, the test's
    amount) on the held-out test notes: separates "cannot hear the effect" from "cannot read a new word"."""
    from lstmabar.models.lstmabar.corpus.build import render_triplet
    from lstmabar.models.lstmabar.corpus.effects import load_contributions, word_means
    from lstmabar.models.lstmabar.corpus.plan import EVAL_AMOUNT, EVAL_MIN_CONTRIBUTIONS

    held = set(split.held_out_crowd_words()[effect])
    means = word_means(load_contributions(), effect)
    floor = max(3, EVAL_MIN_CONTRIBUTIONS[effect])
    words = sorted((w for w, (_, n) in means.items() if w not in held and n >= floor), key=lambda w: (-means[w][1], w))[:n_words]
    notes = sorted({t["dry"] for t in corpus.triplets if t["split"] == "test" and t["effect"] == effect})
    if len(words) < 2 or not notes:
        return {}
    dry_audio = corpus.audio(notes)
    with torch.no_grad():
        dry = emb.embed_audio(torch.from_numpy(dry_audio), corpus.sample_rate).float().cpu()
        da = torch.zeros(len(words), len(notes), dry.shape[1])
        for i, w in enumerate(words):
            spec = {"effect": effect, "values": means[w][0], "amount": EVAL_AMOUNT[effect]}
            wet = np.stack([render_triplet(spec, x)[0] for x in dry_audio])
            da[i] = emb.embed_audio(torch.from_numpy(wet), corpus.sample_rate).float().cpu() - dry
    plain = emb.embed_text([f"{article(w)} {w} sound" for w in words]) - emb.embed_text(["a sound"])
    out = {"words": float(len(words)), "notes": float(len(notes))}
    out.update(_pairwise(da, plain.float().cpu(), rng, "plain"))
    return out


def _pairwise(da: torch.Tensor, dt: torch.Tensor, rng: np.random.Generator, tag: str) -> dict[str, float]:
    """Accuracy over notes x ordered word pairs (``directions.pairwise_accuracy``); ``dt`` is (words, dim)
    or (words, notes, dim)."""
    per_word = pairwise_accuracy(da, dt, per_word=True).numpy()
    own = torch.nn.functional.cosine_similarity(da, dt if dt.dim() == 3 else dt[:, None].expand_as(da), dim=-1)
    boot = [per_word[rng.integers(0, len(per_word), len(per_word))].mean() for _ in range(BOOT)]
    return {f"{tag}_pairwise_accuracy": float(per_word.mean()), f"{tag}_ci_low": float(np.percentile(boot, 2.5)),
            f"{tag}_ci_high": float(np.percentile(boot, 97.5)), f"{tag}_own_cos_mean": float(own.mean()),
            f"{tag}_words_above_chance": float((per_word > 0.5).mean())}


def evaluate(emb, corpus: Corpus) -> dict[str, float]:
    rng = np.random.default_rng(SEED)
    held = split.held_out_programs()
    fl = [r for r in corpus.clips if r["source"] == "fluidr3" and r["split"] == "test" and r.get("program") is not None]
    tg = [r for r in corpus.clips if r["source"] == "timgm6mb" and r.get("program") is not None]
    figs: dict[str, float] = {}
    for tag, rows in (("heldout_programs", fl), ("shift_training_programs", [r for r in tg if r["program"] not in held]),
                      ("shift_heldout_programs", [r for r in tg if r["program"] in held])):
        if rows:
            figs.update({f"{tag}_{k}": v for k, v in retrieval(emb, corpus, rows, rng).items()})
    for effect in EFFECTS:
        figs.update({f"direction_{effect}_{k}": v for k, v in directional(emb, corpus, effect, rng).items()})
        figs.update({f"seen_words_{effect}_{k}": v for k, v in directional_seen_words(emb, corpus, effect, rng).items()})
    return figs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True, help="a corpus built by `lstmabar data build`")
    ap.add_argument("--baseline", type=Path, default=None, help="another checkpoint scored on the same items (keys baseline_*)")
    ap.add_argument("--weights", type=Path, default=WEIGHTS, help="the checkpoint to score (default: the shipped weights)")
    ap.add_argument("--name", default="lstmabar_real", help="report name (docs/results/NAME.json)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if not a.weights.is_file():
        sys.exit(f"no weights at {a.weights}")
    corpus = Corpus(a.corpus)
    m = corpus.manifest
    emb = load_lstmabar_embedder(str(a.weights), device="cpu")
    figs = evaluate(emb, corpus)
    if a.baseline:
        figs.update({f"baseline_{k}": v for k, v in evaluate(load_lstmabar_embedder(str(a.baseline), device="cpu"), corpus).items()})
    figs = {k: round(float(v), 5) for k, v in figs.items()}
    figs["weights_sha256"] = hashlib.sha256(a.weights.read_bytes()).hexdigest()[:12]
    figs["weights_full_band"] = emb.model.cfg.front_end == "full"
    if a.baseline:
        figs["baseline_weights_sha256"] = hashlib.sha256(a.baseline.read_bytes()).hexdigest()[:12]
    figs.update({"corpus_scale": m["scale"], "corpus_seed": m["seed"], "corpus_created": m["created"],
                 "corpus_clips": m["counts"]["clips"], "corpus_triplets": m["counts"]["triplets"],
                 "corpus_eval_amounts": "eq 0.5 (Audealize's +-5 dB), reverb 1.0, compressor 1.0"})
    write_report(a.name, figs, _markdown(figs, m, a.baseline is not None))


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _markdown(f: dict, m: dict, with_baseline: bool) -> str:
    def ret_row(label: str, tag: str, pre: str = "") -> str:
        k = pre + tag + "_"
        if k + "recall_at_1" not in f:
            return ""
        return (f"| {label} | {int(f[k + 'names'])} / {int(f[k + 'renders'])} | {f[k + 'recall_at_1']:.3f} ({f[k + 'chance_recall_at_1']:.3f}) | "
                f"{f[k + 'recall_at_10']:.3f} ({f[k + 'chance_recall_at_10']:.3f}) | {f[k + 'median_rank']:.0f} ({f[k + 'chance_median_rank']:.0f}) | "
                f"{_pct(f[k + 'render_to_name_top1'])} ({_pct(f[k + 'chance_render_to_name_top1'])}) |\n")

    def dir_row(effect: str, pre: str = "") -> str:
        k = f"{pre}direction_{effect}_"
        if k + "plain_pairwise_accuracy" not in f:
            return ""
        return (f"| {effect} | {int(f[k + 'words'])} x {int(f[k + 'notes'])} | {_pct(f[k + 'plain_pairwise_accuracy'])} "
                f"[{_pct(f[k + 'plain_ci_low'])}, {_pct(f[k + 'plain_ci_high'])}] | {_pct(f[k + 'instrument_pairwise_accuracy'])} "
                f"[{_pct(f[k + 'instrument_ci_low'])}, {_pct(f[k + 'instrument_ci_high'])}] | {f[k + 'audio_cos_dry_processed']:.3f} |\n")

    def verdict(effect: str) -> str:
        k = f"direction_{effect}_plain_"
        if k + "ci_low" not in f:
            return ""
        lo, hi = f[k + "ci_low"], f[k + "ci_high"]
        where = "above chance" if lo > 0.5 else ("below chance" if hi < 0.5 else "not distinguishable from chance")
        return f"{effect} {where}"

    ret = ret_row("held-out programs, FluidR3", "heldout_programs") + ret_row("training programs, TimGM6mb (domain shift)", "shift_training_programs") \
        + ret_row("held-out programs, TimGM6mb", "shift_heldout_programs")
    dirs = "".join(dir_row(e) for e in EFFECTS)
    if with_baseline:
        ret += "".join(ret_row(f"baseline weights: {lab}", tag, "baseline_") for lab, tag in (("held-out programs", "heldout_programs"), ("TimGM6mb training programs", "shift_training_programs")))
        dirs += "".join(dir_row(e, "baseline_") .replace(f"| {e} |", f"| baseline weights: {e} |", 1) for e in EFFECTS)
    return f"""
Issue 16's yardstick: the LSTMABAR weights scored here (sha256 {f['weights_sha256']}; audio front end
{"full band, 44.1 kHz" if f.get('weights_full_band') else "16 kHz"}){" with baseline weights sha256 " + str(f['baseline_weights_sha256']) + " (rows marked baseline)" if with_baseline else ""}
on the held-out parts of the real-sound corpus. Run `python -m benchmarks.lstmabar_real --corpus DIR`
after `lstmabar data build --out DIR --scale {m['scale']} --seed {m['seed']}` ({m['counts']['clips']} clips,
{m['counts']['triplets']} triplets, built {m['created']}).

**(a) Real instruments by name.** The plain caption of each held-out name ("a marimba note") ranks the renders; chance in brackets.

| renders | names / renders | recall@1 | recall@10 | median rank of the first match | render -> its name, top-1 |
|---|---|---|---|---|---|
{ret}
**(b) The crowd's words as directions** (held-out words on held-out instrument notes; pairwise accuracy, chance 50 %, 95 % bootstrap
interval over words). "plain": E_text("a w sound") - E_text("a sound"); "instrument": E_text("a <name> note, made w") - E_text("a <name> note").
The last column is the mean audio cosine between a note and its processed twin (1.0: the embedder does not hear the effect).
Issue goal for the retrain: at least 75 % for EQ and reverb.

| effect | words x notes | plain | instrument | cos(dry, processed) |
|---|---|---|---|---|
{dirs}
Seen words on the same held-out notes (the {int(f.get('seen_words_eq_words', 0))} training words per effect with the most contributions, their mean
setting at the test's amount, "plain" pair): {", ".join(f"{e} {_pct(f[f'seen_words_{e}_plain_pairwise_accuracy'])}" for e in EFFECTS if f"seen_words_{e}_plain_pairwise_accuracy" in f)}{
" (baseline weights: " + ", ".join(f"{e} {_pct(f[f'baseline_seen_words_{e}_plain_pairwise_accuracy'])}" for e in EFFECTS if f"baseline_seen_words_{e}_plain_pairwise_accuracy" in f) + ")" if with_baseline else ""}.
This separates an ear that cannot hear the effect from a text tower that cannot read a new word.

Reading ("plain" pair, 95 % interval against 50 %): {"; ".join(v for v in map(verdict, EFFECTS) if v)}. The held-out programs
have {f.get('heldout_programs_renders', 0) / max(f.get('heldout_programs_names', 1), 1):.1f} renders per name in this corpus; the
directional set uses {int(f.get('direction_eq_notes', 0))} held-out notes. A retrain is compared on the same corpus (same scale and
seed), with these weights passed as `--baseline` (`git show <rev>:models/lstmabar/weights/lstmabar.pt > /tmp/v1.pt`).
"""


if __name__ == "__main__":
    main()
