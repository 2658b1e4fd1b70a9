"""LSTMABAR: the project's own two-tower text/audio model with an archetype head."""
