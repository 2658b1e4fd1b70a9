"""How well can the crowd's words be told apart as directions at all? A ceiling for lstmabar_real (b).

    python -m benchmarks.direction_ceiling --corpus DIR [--weights CHECKPOINT]

lstmabar_real (b) asks the embedder: on a held-out note, is the text direction of held-out crowd word w
closer to w's audio change than to another word's? This report measures, on exactly those items (the
corpus's test triplets: held-out words, their mean crowd setting at the evaluation amount, 40 held-out
notes per effect), the same pairwise accuracy for references that are not the embedder:

- **measured oracle**: each word's plain log-mel change on a note (16 bands x 12 time steps,
  ``directions.change_map``) against its mean change on the other notes, which knows every word's true
  setting: how distinct the words' effects are to a plain measurement (the ceiling of any ear);
- **embedder-audio oracle**: the same with the embedder's audio changes: how much of that distinctness
  the audio tower keeps;
- **crowd prior as text**: each held-out word's setting predicted by the shipped word -> effect model
  (models/fx/crowd, the held-out words excluded, as for an unknown word), rendered on the same notes,
  its measured change as the text direction: what a text side that reads new words as well as the
  project's best validated word -> effect model could reach with a perfect ear;
- **embedder text**: the embedder's own figure ("a w sound" - "a sound"), as lstmabar_real reports it.

The measured and crowd-prior references use the corpus's stored pedalboard renders for the words' true
changes; predicted EQ settings are rendered in the spectral domain (``directions.filtered``, the
training path), and the agreement of that path with pedalboard is reported on the true settings.
The same references on the 40 most-contributed training words (seen in training) come last.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
from lstmabar.models.lstmabar.corpus import split
from lstmabar.models.lstmabar.corpus.build import render_triplet
from lstmabar.models.lstmabar.corpus.effects import apply_effect, load_contributions, word_means
from lstmabar.models.lstmabar.corpus.gm import article
from lstmabar.models.lstmabar.corpus.plan import EVAL_AMOUNT, EVAL_MIN_CONTRIBUTIONS
from lstmabar.models.lstmabar.corpus.store import Corpus
from lstmabar.models.lstmabar.directions import change_map, eq_power_response, filtered
from lstmabar.models.lstmabar.embedder import WEIGHTS, load_lstmabar_embedder
from lstmabar.models.lstmabar.features import FullBandLogMel

from ._report import write_report
from .lstmabar_real import _audio_embed, _pairwise

EFFECTS = ("eq", "reverb", "compressor")
SEED = 0


def _loo(d: torch.Tensor) -> torch.Tensor:
    """(W, N, dim) -> each word's mean change over the other notes, per note (leave one note out)."""
    n = d.shape[1]
    return (d.sum(1, keepdim=True) - d) / (n - 1)


def _acc(da: torch.Tensor, dt: torch.Tensor, rng: np.random.Generator, tag: str) -> dict[str, float]:
    r = _pairwise(da, dt, rng, tag)
    return {tag: r[f"{tag}_pairwise_accuracy"], f"{tag}_ci_low": r[f"{tag}_ci_low"], f"{tag}_ci_high": r[f"{tag}_ci_high"]}


def _render_maps(front, effect: str, settings: list[np.ndarray], dry_audio: np.ndarray, dry_mel: torch.Tensor) -> torch.Tensor:
    """Change maps (W, N, 192) of ``settings`` on every note: EQ spectrally, the rest with pedalboard."""
    amount = EVAL_AMOUNT[effect]
    out = []
    with torch.no_grad():
        if effect == "eq":
            p_dry = front.power(torch.from_numpy(dry_audio))
            h2 = torch.stack([torch.from_numpy(eq_power_response(v, amount, front.n_fft, 44_100)) for v in settings])
            for x in range(len(dry_audio)):
                out.append(change_map(front.from_power(filtered(p_dry[x], h2)), dry_mel[x][None]))
            return torch.stack(out, 1)
        for v in settings:
            wet = np.stack([apply_effect(effect, v, amount, a, 44_100) for a in dry_audio]).astype(np.float32)
            out.append(change_map(front(torch.from_numpy(wet)), dry_mel))
    return torch.stack(out)


def _embed(emb, audio: np.ndarray, sr: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([emb.embed_audio(torch.from_numpy(audio[i : i + 64]), sr).float().cpu() for i in range(0, len(audio), 64)])


def held_out(emb, corpus: Corpus, effect: str, rng: np.random.Generator) -> dict[str, float]:
    from lstmabar.models.fx.crowd.prior import CrowdPrior

    trips = [t for t in corpus.triplets if t["split"] == "test" and t["effect"] == effect]
    words = sorted({t["words"][0] for t in trips})
    notes = sorted({t["dry"] for t in trips})
    wi, ni = {w: i for i, w in enumerate(words)}, {d: i for i, d in enumerate(notes)}
    front = FullBandLogMel()
    dry_mel = torch.from_numpy(corpus.mels(notes).astype(np.float32))[:, None]
    wet_mel = torch.from_numpy(corpus.mels([t["id"] for t in trips]).astype(np.float32))[:, None]
    measured = torch.full((len(words), len(notes), 192), float("nan"))
    for t, m in zip(trips, wet_mel):
        measured[wi[t["words"][0]], ni[t["dry"]]] = change_map(m[None], dry_mel[ni[t["dry"]]][None])[0]
    if torch.isnan(measured).any():
        raise RuntimeError(f"the {effect} test triplets do not cover every held-out word on every note")
    out = {"words": float(len(words)), "notes": float(len(notes))}
    out.update(_acc(measured, _loo(measured), rng, "measured_oracle"))
    # the embedder's audio changes
    dry_audio = corpus.audio(notes)
    e_dry = _embed(emb, dry_audio, corpus.sample_rate)
    e_wet = _audio_embed(emb, corpus, [t["id"] for t in trips])  # read in batches: 9,640 reverb clips are 3.4 GB
    da = torch.zeros(len(words), len(notes), e_dry.shape[1])
    for t, e in zip(trips, e_wet):
        da[wi[t["words"][0]], ni[t["dry"]]] = e - e_dry[ni[t["dry"]]]
    out.update(_acc(da, _loo(da), rng, "embedder_audio_oracle"))
    plain = emb.embed_text([f"{article(w)} {w} sound" for w in words]) - emb.embed_text(["a sound"])
    out.update(_acc(da, plain.float().cpu(), rng, "embedder_text"))
    # the crowd prior reading each held-out word as unknown
    prior = CrowdPrior.load().without(split.held_out_crowd_words()[effect])
    predicted = [prior.meaning(w, effect).values for w in words]
    out.update(_acc(measured, _render_maps(front, effect, predicted, dry_audio, dry_mel), rng, "crowd_prior_text"))
    if effect == "eq":
        # the spectral EQ path against the stored pedalboard renders, on the true settings
        means = word_means(load_contributions(), effect)
        spectral = _render_maps(front, effect, [means[w][0] for w in words], dry_audio, dry_mel)
        out["spectral_vs_pedalboard_cos"] = float(torch.nn.functional.cosine_similarity(spectral, measured, dim=-1).mean())
    return out


def seen(emb, corpus: Corpus, effect: str, rng: np.random.Generator, n_words: int = 40) -> dict[str, float]:
    held = set(split.held_out_crowd_words()[effect])
    means = word_means(load_contributions(), effect)
    floor = max(3, EVAL_MIN_CONTRIBUTIONS[effect])
    words = sorted((w for w, (_, n) in means.items() if w not in held and n >= floor), key=lambda w: (-means[w][1], w))[:n_words]
    notes = sorted({t["dry"] for t in corpus.triplets if t["split"] == "test" and t["effect"] == effect})
    front = FullBandLogMel()
    dry_audio = corpus.audio(notes)
    dry_mel = torch.from_numpy(corpus.mels(notes).astype(np.float32))[:, None]
    measured = _render_maps(front, effect, [means[w][0] for w in words], dry_audio, dry_mel)
    out = {"words": float(len(words)), "notes": float(len(notes))}
    out.update(_acc(measured, _loo(measured), rng, "measured_oracle"))
    e_dry = _embed(emb, dry_audio, corpus.sample_rate)
    da = torch.zeros(len(words), len(notes), e_dry.shape[1])
    for i, w in enumerate(words):
        wet = np.stack([render_triplet({"effect": effect, "values": means[w][0], "amount": EVAL_AMOUNT[effect]}, x)[0] for x in dry_audio])
        da[i] = _embed(emb, wet, corpus.sample_rate) - e_dry
    out.update(_acc(da, _loo(da), rng, "embedder_audio_oracle"))
    plain = emb.embed_text([f"{article(w)} {w} sound" for w in words]) - emb.embed_text(["a sound"])
    out.update(_acc(da, plain.float().cpu(), rng, "embedder_text"))
    return out


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _markdown(f: dict) -> str:
    rows = ["| words | effect | measured oracle | embedder-audio oracle | crowd prior as text | embedder text |", "|---|---|---|---|---|---|"]
    for tag, label in (("heldout", "held-out"), ("seen", "training")):
        for e in EFFECTS:
            k = f"{tag}_{e}_"
            if f"{k}measured_oracle" not in f:
                continue
            cells = []
            for m in ("measured_oracle", "embedder_audio_oracle", "crowd_prior_text", "embedder_text"):
                cells.append(f"{_pct(f[k + m])} ({_pct(f[k + m + '_ci_low'])}-{_pct(f[k + m + '_ci_high'])})" if k + m in f else "n/a")
            rows.append(f"| {label} ({int(f[k + 'words'])}) | {e} | " + " | ".join(cells) + " |")
    return f"""`python -m benchmarks.direction_ceiling --corpus DIR` on the corpus lstmabar_real reads (weights
{f['weights_sha256']}). Pairwise accuracy of lstmabar_real (b), chance 50 %, 95 % bootstrap interval over
words, for references that are not the embedder. The **measured oracle** knows each word's true setting
and compares plain log-mel changes: it is the ceiling of any ear. The **crowd prior as text** reads each
held-out word with the shipped word -> effect model (held-out words excluded) and renders its guess: the
ceiling for a text side as good as the project's best validated word model.

{chr(10).join(rows)}

The spectral EQ path (training's fast renderer) against pedalboard on the true settings: mean cosine of
the change maps {f.get('heldout_eq_spectral_vs_pedalboard_cos', float('nan')):.3f}.

Reading: where the measured oracle is near 50 %, the words' mean crowd settings change the sound alike,
so no embedder can pass the test for them; where the crowd prior as text is near 50 %, the words' own
crowd settings are not predictable from the words by the best model the project has, so a 75 % goal on
held-out words asks more than the data holds.
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--weights", type=Path, default=WEIGHTS)
    ap.add_argument("--name", default="direction_ceiling")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if not a.weights.is_file():
        sys.exit(f"no weights at {a.weights}")
    corpus = Corpus(a.corpus)
    emb = load_lstmabar_embedder(str(a.weights), device="cpu")
    rng = np.random.default_rng(SEED)
    figs: dict = {}
    for e in EFFECTS:
        figs.update({f"heldout_{e}_{k}": round(v, 5) for k, v in held_out(emb, corpus, e, rng).items()})
        figs.update({f"seen_{e}_{k}": round(v, 5) for k, v in seen(emb, corpus, e, rng).items()})
        print(e, {k: v for k, v in figs.items() if k.startswith(("heldout_" + e, "seen_" + e)) and "ci" not in k}, flush=True)
    figs["weights_sha256"] = hashlib.sha256(a.weights.read_bytes()).hexdigest()[:12]
    figs["corpus_created"] = corpus.manifest["created"]
    write_report(a.name, figs, _markdown(figs))


if __name__ == "__main__":
    main()
