"""Leads and funnels. Importing the package registers who sees which leads (``visibility``)."""

import leadflow.lead.visibility  # noqa: F401 - registers the lead visibility rule with kit.scope
