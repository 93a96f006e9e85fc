"""Migration scripts, numbered in order: 0001_..., 0002_..."""
