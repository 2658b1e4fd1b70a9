"""optimize_fx internals: the effect menu (chain), pedalboard rendering, torch twins, losses, optimiser."""
