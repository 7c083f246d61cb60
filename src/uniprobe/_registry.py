"""One small registry class, used once per kind of plugin (backends, judges, suites)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from uniprobe.errors import UnknownNameError, UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to plugins. Duplicate names raise; unknown names suggest the closest."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register `item` under `name`; a name can be registered once."""
        if name in self._items:
            raise UsageError(f"{self.kind} '{name}' is already registered")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""

        def decorate(item: T) -> T:
            return self.add(name, item)

        return decorate

    def get(self, name: str) -> T:
        """The plugin named `name`, or an `UnknownNameError` that lists what exists."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
