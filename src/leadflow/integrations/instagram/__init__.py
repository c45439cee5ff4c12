"""Instagram messaging (DMs) by Instagram-scoped id (contracts §3.4)."""
