"""Faust agents beyond the raw mention sink, registered onto the worker's app.

Each module exposes ``register(app, settings, new_sink)``; ``register_all`` calls them in order.
Agents stay thin: they batch, call the pure functions in ``pipeline.scoring`` and
``pipeline.processors``, and hand rows to a :class:`pipeline.sink.WarehouseSink`.
"""

from __future__ import annotations

from collections.abc import Callable

import faust

from pipeline.settings import Settings
from pipeline.sink import WarehouseSink

Registrar = Callable[[faust.App, Settings, Callable[[], WarehouseSink]], None]
REGISTRARS: list[Registrar] = []


def register_all(app: faust.App, settings: Settings, new_sink: Callable[[], WarehouseSink]) -> None:
    for registrar in REGISTRARS:
        registrar(app, settings, new_sink)


def _builtin_registrars() -> list[Registrar]:
    # Imported here, not at the top: the score agents import this package's submodules.
    from pipeline.agents.scores import register as register_scores

    return [register_scores]


REGISTRARS.extend(_builtin_registrars())
