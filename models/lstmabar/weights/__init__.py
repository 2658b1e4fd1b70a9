"""Shipped LSTMABAR weights (lstmabar.pt, ood_bank.pt); see ../MODEL_CARD.md."""
