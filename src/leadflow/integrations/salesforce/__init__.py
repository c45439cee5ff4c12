"""Salesforce, outbound: records upserted by an External ID field that holds leadflow's own id."""
