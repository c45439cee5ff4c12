"""The capture pipeline: stages that turn a raw event into an enriched, identified, routed lead."""
