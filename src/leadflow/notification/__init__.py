"""In-app notifications: what the bus tells a user (an SLA hand-over, a rule's notice, a disabled partner endpoint)."""
