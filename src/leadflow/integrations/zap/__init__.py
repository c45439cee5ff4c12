"""Grupo ZAP / OLX (ZAP Imóveis, VivaReal, OLX): the portal's lead webhook (contracts §6.1)."""
