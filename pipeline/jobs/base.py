"""What the periodic jobs share: the warehouse, the campaign, the alert publisher."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.campaign import Campaign
from pipeline.scoring.subjects import SubjectMatcher
from pipeline.scoring.validator_reach import ValidatorIndex
from pipeline.stream.alerts import AlertPublisher
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter


@dataclass
class JobContext:
    campaign: Campaign
    matcher: SubjectMatcher
    validators: ValidatorIndex
    reader: WarehouseReader
    writer: WarehouseWriter
    alerts: AlertPublisher
    partitions: Callable[[], Mapping[str, int]]  # topic -> partition count, as the broker says


class Job(Protocol):
    name: str
    every: float  # seconds between passes

    async def load(self) -> None:
        """(Re)load the job's state from the warehouse; called when this worker takes over."""

    async def run_once(self) -> Any:
        """One pass; ReadFailed skips it (the next pass tries again)."""
