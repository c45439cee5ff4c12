"""The console: server-rendered pages (Jinja2 + HTMX) under ``/app`` for brokers and managers.

It renders the services of the other features and adds no business rule of its own.
"""
