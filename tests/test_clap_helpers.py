"""Builders for the CLAP tests: a tiny random-weight ClapModel, a small local RoBERTa tokenizer, folders."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lstmabar.models.transformers_compat import prepare_transformers

CORPUS = [
    "a dog barking loudly", "gentle rain falling on a window", "a distorted electric guitar solo",
    "a church bell ringing in the distance", "bright harsh buzzy square synth", "soft mellow sine tone",
    "airy noise texture", "this sound is warm", "this sound is not warm", "a sound of a cat",
]


def tiny_config(*, fusion: bool = False):
    prepare_transformers()
    from transformers import ClapConfig

    return ClapConfig(
        text_config=dict(vocab_size=320, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=256, layer_norm_eps=1e-5, max_position_embeddings=84),
        audio_config=dict(patch_embeds_hidden_size=8, depths=[1, 2], num_attention_heads=[1, 2], hidden_size=16,
                          window_size=8, enable_fusion=fusion, fusion_type="aff_2d" if fusion else None),
        projection_dim=8,
    )


def tiny_model(seed: int = 0, *, fusion: bool = False):
    prepare_transformers()
    from transformers import ClapModel

    torch.manual_seed(seed)
    model = ClapModel(tiny_config(fusion=fusion)).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics so a dropped buffer would show
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn_like(buf) * 0.5)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand_like(buf) + 0.5)
    return model


def tiny_tokenizer(folder: Path):
    """A byte-level BPE RoBERTa tokenizer trained on a few sentences, saved as vocab.json + merges.txt."""
    prepare_transformers()
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS * 3, vocab_size=300, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(folder))
    return RobertaTokenizer.from_pretrained(str(folder), local_files_only=True)


def degenerate_tokenizer(folder: Path):
    """A RoBERTa tokenizer with no vocabulary: every text -> special tokens only (the offline roberta-base trap)."""
    prepare_transformers()
    from transformers import RobertaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return RobertaTokenizer(vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt"))


def save_hf_folder(folder: Path, model, tokenizer, *, fusion: bool = False) -> Path:
    prepare_transformers()
    from transformers import ClapFeatureExtractor

    from lstmabar.models.clap.audio import FrontEndSettings

    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    ClapFeatureExtractor(**FrontEndSettings(fusion=fusion).feature_extractor_kwargs()).save_pretrained(str(folder))
    return folder
