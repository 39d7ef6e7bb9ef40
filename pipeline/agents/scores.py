"""The registrar for the score agents: one shared context, then each job's agents and timers.

Jobs (one module each): ``buzz_agent`` (mention scores), ``minutes_agent`` (buzz and signup
minutes, baselines, spikes, attacks, surges), ``validators_agent`` (validator reach and cascades),
``threads_agent`` (conversation quality), ``signups_agent`` (raw signups, attribution, lag);
``alerts_out`` publishes every alert to the table and the topic.
"""

from __future__ import annotations

from collections.abc import Callable

import faust

from pipeline.agents import (
    buzz_agent,
    minutes_agent,
    signups_agent,
    threads_agent,
    validators_agent,
)
from pipeline.agents.context import build_context
from pipeline.settings import Settings
from pipeline.sink import WarehouseSink


def register(app: faust.App, settings: Settings, new_sink: Callable[[], WarehouseSink]) -> None:
    ctx = build_context(app, settings, new_sink)
    for job in (buzz_agent, minutes_agent, validators_agent, threads_agent, signups_agent):
        job.register(ctx)
