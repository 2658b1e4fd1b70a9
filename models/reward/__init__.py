"""Reward model learned from listeners' feedback (ratings and pairwise preferences).

``features``: what the model sees for every sound (audio embedding, prompt embedding, parameters);
``model``: a small Bradley-Terry + ordinal-rating network; ``train``: fitting, held-out evaluation and
versioned files under ``<output_dir>/reward/``; ``registry``: picks up the newest version without a
restart; ``guidance``: what generating tools call (``load_reward``, ``GuidedObjective``);
``queue``: which sounds most need ratings; ``simulate``: a simulated rater for the loop benchmark.
"""
