"""Events of people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from leadflow.bus.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class PersonUpdated(DomainEvent):
    """Someone corrected a person (payload: person_id and the names of the fields sent, never their values): the
    connected CRMs receive the corrected record and partners subscribed to it learn which fields changed (LGPD
    art. 18 III and §6, a correction is passed on to whoever the data was shared with)."""

    name: ClassVar[str] = "person.updated"
