"""Scopes a secret API key may carry. Features add theirs here as they arrive."""

KEY_SCOPES: dict[str, str] = {
    "admin": "manage users, teams and API keys",
    "read": "read everything the tenant owns",
    "write": "create and change CRM data",
}
