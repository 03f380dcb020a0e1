"""Hydra override strings (``loss=ls``, ``+a.b="x y"``, ``~penalty``, ``x=[1,2]``) read with Hydra's
own grammar (``hydra.core.override_parser``), so quoting, lists and prefixes mean what Hydra means.

    override_key("+optim.lr=1e-3")               # 'optim.lr'
    override_dict(["loss=ls", "optim.lr=1e-3"])   # {'loss': 'ls', 'optim.lr': 0.001}
    override_dict(["x=[1,2]"], as_text=True)      # {'x': '[1,2]'}
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException

from ganaudit.utils.errors import ConfigError

__all__ = ["parse_override", "override_key", "override_dict"]


@lru_cache(maxsize=1)
def _parser() -> OverridesParser:
    return OverridesParser.create()


def parse_override(text: str) -> Override:
    """Hydra's parsed form of one override; ConfigError naming ``text`` if it is malformed."""
    try:
        return _parser().parse_override(str(text))
    except HydraException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"override '{text}': {first}; expected key=value (Hydra override syntax)") from None


def override_key(text: str) -> str:
    """The key or config group of an override, without ``+``/``++``/``~`` or ``@package``."""
    return parse_override(text).key_or_group


def _value(ov: Override, as_text: bool) -> Any:
    value = ov.value()
    if as_text and not isinstance(value, str):
        return ov.get_value_element_as_str() if ov.value_type is not None else None
    return value


def override_dict(overrides: Iterable[str], *, as_text: bool = False) -> dict[str, Any]:
    """``{key: value}`` of a list of overrides, later ones winning; a deletion (``~key``) removes the key.

    Values are Hydra's python values (``'1e-3'`` -> 0.001, ``[1,2]`` -> [1, 2], quotes removed);
    ``as_text=True`` keeps strings and renders other values as Hydra writes them (``'[1,2]'``).
    Sweeps (``a=1,2``) keep Hydra's sweep objects.
    """
    out: dict[str, Any] = {}
    for text in overrides:
        ov = parse_override(text)
        if ov.is_delete():
            out.pop(ov.key_or_group, None)
        else:
            out[ov.key_or_group] = _value(ov, as_text)
    return out
