"""Synth sound matching (seed 002): an Audio Spectrogram Transformer that regresses Voice patch
parameters from a log-mel spectrogram, CREPE pitch for the keyboard note, and an MR-STFT refinement."""
