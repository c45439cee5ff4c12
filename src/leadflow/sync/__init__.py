"""CRM sync: our people (with their latest lead) pushed to the tenant's CRM, keyed by our own id, idempotent through
``external_refs``."""
