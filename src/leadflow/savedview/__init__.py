"""Saved views: a user's named filter sets of the lead list."""
