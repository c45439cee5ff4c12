"""Connections to outside channels: one package per provider (pure: parsers, clients, settings schemas, no
database and no feature) and the glue that turns their deliveries into leads and interactions (``service``,
``inbound``, ``intake``, ``endpoints``, ``handlers``)."""
