"""Refuse tokenizers and models that would give every prompt the same embedding.

The trap this guards against: offline, ``RobertaTokenizer.from_pretrained('roberta-base')`` in recent
transformers can come back "successfully" with no vocabulary, mapping every text to ``<s></s>``; every
prompt then gets the same CLAP text embedding and every score is silently meaningless.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..embedders.base import EmbedderUnavailable

PROBE_TEXTS = (
    "a dog barking loudly",
    "gentle rain falling on a window",
    "a distorted electric guitar solo",
    "a church bell ringing in the distance",
)


class DegenerateTokenizer(EmbedderUnavailable):
    """The tokenizer (or the text tower) cannot tell clearly different prompts apart."""


def _special_ids(tokenizer) -> set[int]:
    ids = set()
    for attr in ("bos_token_id", "eos_token_id", "pad_token_id", "cls_token_id", "sep_token_id", "mask_token_id"):
        v = getattr(tokenizer, attr, None)
        if isinstance(v, int):
            ids.add(v)
    try:
        ids.update(int(i) for i in tokenizer.all_special_ids)
    except Exception:
        pass
    return ids


def check_tokenizer(tokenizer, probes: Sequence[str] = PROBE_TEXTS, *, where: str = "") -> None:
    """Raise DegenerateTokenizer unless clearly different texts get different, non-trivial token ids."""
    hint = (
        " Point LSTMABAR_CLAP_TOKENIZER (or the model folder) at a complete RoBERTa tokenizer "
        "(vocab.json + merges.txt, or tokenizer.json), e.g. the files of laion/clap-htsat-unfused."
    )
    try:
        encoded = [list(tokenizer(t)["input_ids"]) for t in probes]
    except Exception as exc:
        raise DegenerateTokenizer(f"The CLAP tokenizer{where} fails on plain text ({exc}).{hint}") from exc
    special = _special_ids(tokenizer)
    unk = getattr(tokenizer, "unk_token_id", None)
    content = [[i for i in ids if i not in special] for ids in encoded]
    if any(not c for c in content):
        raise DegenerateTokenizer(
            f"The CLAP tokenizer{where} maps text to special tokens only (e.g. {probes[0]!r} -> {encoded[0]}): "
            f"it has no usable vocabulary, so every prompt would get the same embedding.{hint}"
        )
    if unk is not None and all(all(i == unk for i in c) for c in content):
        raise DegenerateTokenizer(f"The CLAP tokenizer{where} maps every word to the unknown token.{hint}")
    if len({tuple(ids) for ids in encoded}) < len(encoded):
        raise DegenerateTokenizer(
            f"The CLAP tokenizer{where} gives identical ids to clearly different prompts ({encoded}).{hint}"
        )


def check_text_embeddings(embed: Callable[[list[str]], torch.Tensor], probes: Sequence[str] = PROBE_TEXTS, *, where: str = "") -> None:
    """Raise DegenerateTokenizer when different prompts embed to (numerically) the same vector."""
    with torch.no_grad():
        e = embed(list(probes)).float()
    if not torch.isfinite(e).all():
        raise DegenerateTokenizer(f"The CLAP model{where} gives non-finite text embeddings.")
    if float(e.norm(dim=-1).min()) < 1e-8:
        raise DegenerateTokenizer(f"The CLAP model{where} gives zero text embeddings; its text tower is broken.")
    e = torch.nn.functional.normalize(e, dim=-1)
    sim = e @ e.T
    off = sim[~torch.eye(len(probes), dtype=torch.bool)]
    if float(off.max()) > 1.0 - 1e-5:
        raise DegenerateTokenizer(
            f"The CLAP model{where} embeds clearly different prompts to the same vector (cosine {float(off.max()):.6f}); "
            "its tokenizer or text tower is broken, so text-audio scores would be meaningless."
        )
