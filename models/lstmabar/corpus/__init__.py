"""The LSTMABAR v2 corpus: real sampled instruments (FluidR3_GM, all 128 GM programs and the named
percussion), a second held-out soundfont (TimGM6mb), named real samples (Sonic Pi, CC0), and the
crowd's own effects (every SocialFX / Audealize EQ, reverb and compressor contribution) applied to
them as (dry, processed, words) triplets; captioned from what is known and measured; held out by
hash before any training. Built outside the repository by ``lstmabar data build`` (``build.py``),
read back with ``store.Corpus``.

Modules: ``gm`` (GM facts), ``render`` (soundfonts, tinysoundfont), ``samples`` (Sonic Pi),
``effects`` (crowd contributions -> pedalboard), ``captions``, ``split`` (the holdout), ``plan`` (the
recipe), ``build`` (rendering, measuring, caching, manifest), ``store`` (reading).
"""
