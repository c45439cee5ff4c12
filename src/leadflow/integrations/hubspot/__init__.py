"""HubSpot CRM, outbound: contacts upserted in batches keyed by leadflow's own id (a unique custom property)."""
