"""The things every score agent needs, built once per worker: campaign, matchers, sinks, reader.

Bad configuration (an unreadable campaign file) stops the worker here, at start-up, with one
message naming the setting (``load_campaign`` raises ``ConfigError``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import TopicT

from pipeline.agents.alerts_out import AlertPublisher
from pipeline.agents.plumbing import WarehouseReader
from pipeline.campaign import Campaign, load_campaign
from pipeline.scoring.subjects import SubjectMatcher, compile_subjects
from pipeline.scoring.validator_reach import ValidatorIndex, index_validators
from pipeline.settings import Settings
from pipeline.sink import WarehouseSink
from pipeline.topics import DEAD_LETTERS


@dataclass
class AgentContext:
    app: faust.App
    settings: Settings
    campaign: Campaign
    matcher: SubjectMatcher
    validators: ValidatorIndex
    reader: WarehouseReader
    alerts: AlertPublisher
    dead_letters: TopicT
    _new_sink: Callable[[], WarehouseSink]
    _sinks: list[WarehouseSink] = field(default_factory=list)

    @property
    def batch(self) -> int:
        return self.settings.sink_batch_size

    @property
    def within(self) -> float:
        return self.settings.sink_batch_seconds

    def new_sink(self) -> WarehouseSink:
        sink = self._new_sink()
        self._sinks.append(sink)
        return sink

    def stop(self) -> None:
        self.reader.stop()
        for sink in self._sinks:
            sink.stop()


def build_context(
    app: faust.App, settings: Settings, new_sink: Callable[[], WarehouseSink]
) -> AgentContext:
    from pipeline.warehouse.client import get_client

    campaign = load_campaign(settings.campaign_file)
    reader = WarehouseReader(lambda: get_client(settings, wait=5))
    alert_sink = new_sink()
    ctx = AgentContext(
        app=app,
        settings=settings,
        campaign=campaign,
        matcher=compile_subjects(campaign.subjects),
        validators=index_validators(campaign),
        reader=reader,
        alerts=AlertPublisher(app, alert_sink, reader),
        dead_letters=app.topic(DEAD_LETTERS, value_serializer="raw", key_serializer="raw"),
        _new_sink=new_sink,
    )
    ctx._sinks.append(alert_sink)

    @app.on_before_shutdown.connect
    async def _stop(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        ctx.stop()

    return ctx
