"""One registry per landscape axis. Registered names are the public API (the Hydra option names).

    LOSSES = Registry("loss")

    @LOSSES.register("ns")
    def non_saturating(...): ...

    LOSSES.get("ns")      # -> the object
    LOSSES.get("nope")    # ConfigError: unknown loss 'nope'; allowed: hinge, ls, mm, ns, wgan
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from ganaudit.utils.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping for one configuration axis (e.g. ``loss``)."""

    def __init__(self, axis: str) -> None:
        self.axis = axis
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; a duplicate name is a programming error."""

        def deco(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.axis} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """The object registered as ``name``; ConfigError naming the axis and the allowed names."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise ConfigError(
                f"unknown {self.axis} '{name}'; allowed values for option '{self.axis}': "
                f"{', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
