import uuid

from uuid6 import uuid7 as _uuid7


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, so primary keys index in insertion order."""
    return uuid.UUID(bytes=_uuid7().bytes)
