"""Mechanisms with no business words. Nothing here imports a feature package."""
