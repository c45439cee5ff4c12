"""RD Station CRM, outbound: contacts found by leadflow's id in a custom field, then created or updated (no native
upsert)."""
