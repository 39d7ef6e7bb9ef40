"""Boolean options of ``buzz source run``: one rule for the runner's flags and every connector's.

A boolean option takes any of the usual forms: ``--x`` / ``--no-x``, or ``--x VALUE`` /
``--x=VALUE`` with VALUE one of true/false, yes/no, 1/0, on/off (any case). The same words work
in ``BUZZ_SOURCE_<NAME>_<OPTION>`` variables (pydantic reads them alike).

Failure policy: anything else (``--x maybe``, ``--no-x false``, ``--x`` twice) is a configuration
error naming the option, reported at start-up (exit 2).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from pipeline.settings import ConfigError

__all__ = ["boolean_fields", "resolve_booleans", "to_bool"]

TRUE = frozenset({"true", "yes", "1", "on"})
FALSE = frozenset({"false", "no", "0", "off"})


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def to_bool(name: str, value: object) -> bool:
    """``value`` of option ``name`` as a bool; ConfigError naming the option otherwise."""
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ConfigError(f"{_flag(name)}: expected true/false, yes/no, 1/0 or on/off, got {value!r}")


def boolean_fields(model: type[BaseModel]) -> set[str]:
    """Names of the fields of ``model`` typed ``bool`` (or ``bool | None``)."""
    found = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if get_origin(kind) in (Union, types.UnionType):
            args = [a for a in get_args(kind) if a is not type(None)]
            kind = args[0] if len(args) == 1 else None
        if kind is bool:
            found.add(name)
    return found


def resolve_booleans(options: Mapping[str, Any], booleans: Iterable[str]) -> dict[str, Any]:
    """``options`` with ``no_x`` folded into ``x = False`` and every boolean's value a bool.

    Only names in ``booleans`` are touched; everything else passes through unchanged.
    """
    known = set(booleans)
    out: dict[str, Any] = {}
    for key, value in options.items():
        name = key
        if key not in known and key.startswith("no_") and key[3:] in known:
            if value is not True:
                raise ConfigError(
                    f"{_flag(key)} takes no value; write {_flag(key[3:])} false instead"
                )
            name, value = key[3:], False
        if name in known:
            if name in out or isinstance(value, list):
                raise ConfigError(f"{_flag(name)}: given more than once")
            value = to_bool(name, value)
        out[name] = value
    return out
