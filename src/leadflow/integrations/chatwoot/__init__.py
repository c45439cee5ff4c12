"""Chatwoot: inbound webhooks here (``inbound.py``); the outbound client lives in ``client.py``."""
