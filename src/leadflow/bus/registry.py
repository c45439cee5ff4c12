"""Who listens to what: handlers subscribe by name to event names."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.bus.events import DomainEvent
from leadflow.kit.scope import Scope

# A handler runs in a session scoped to the event's tenant; its writes commit with its run record.
Handler = Callable[[AsyncSession, Scope, DomainEvent], Awaitable[None]]
H = TypeVar("H", bound=Handler)


class DuplicateHandler(ValueError):
    """Two handlers claimed the same name: runs are recorded by name, so names must be unique."""


class Registry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._subscriptions: dict[str, list[str]] = {}

    def subscribe(self, *event_names: str, name: str | None = None) -> Callable[[H], H]:
        """Decorate ``async def handler(session, scope, event)`` to run it for each of ``event_names``."""

        def register(handler: H) -> H:
            self.add(name or f"{handler.__module__}.{handler.__qualname__}", handler, event_names)
            return handler

        return register

    def add(self, name: str, handler: Handler, event_names: tuple[str, ...] | list[str]) -> None:
        if name in self._handlers and self._handlers[name] is not handler:
            raise DuplicateHandler(name)
        self._handlers[name] = handler
        for event_name in event_names:
            listeners = self._subscriptions.setdefault(event_name, [])
            if name not in listeners:
                listeners.append(name)

    def handlers_for(self, event_name: str) -> dict[str, Handler]:
        """The handlers of one event, by name, in subscription order."""
        return {name: self._handlers[name] for name in self._subscriptions.get(event_name, [])}

    def subscriptions(self) -> dict[str, list[str]]:
        return {event: list(names) for event, names in self._subscriptions.items()}


registry = Registry()
subscribe = registry.subscribe


def discover_handlers(package: str = "leadflow") -> list[str]:
    """Import every ``<package>.<feature>.handlers`` module, so their ``@subscribe`` decorators register."""
    root = importlib.import_module(package)
    found = []
    for module in pkgutil.iter_modules(root.__path__):
        name = f"{package}.{module.name}.handlers"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            found.append(name)
    return found


def load_handlers(extra_modules: Iterable[str] = ()) -> list[str]:
    """What a worker imports at start: every feature's handlers, then ``extra_modules`` (a deployment's or a
    test's own handlers, ``LEADFLOW_EXTRA_HANDLER_MODULES``). Returns the modules imported."""
    found = discover_handlers()
    for name in extra_modules:
        importlib.import_module(name)
        found.append(name)
    return found
