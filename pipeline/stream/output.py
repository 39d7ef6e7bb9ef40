"""What processing one batch produces: rows per table, dead letters and alerts.

Each row remembers the input message it came from, so a row the warehouse refuses can be
dead-lettered with that message's bytes and place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.events import DeadLetter
from pipeline.processors.raw import RawMessage
from pipeline.scoring.alerts import Alert
from pipeline.tables import Table


@dataclass
class Rows:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    origins: list[RawMessage | None] = field(default_factory=list)


@dataclass
class Output:
    writes: dict[Table[Any], Rows] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # partition -> latest event time among the batch's valid events (for the watermark)
    latest: dict[int, datetime] = field(default_factory=dict)

    def saw(self, partition: int, at: datetime) -> None:
        seen = self.latest.get(partition)
        if seen is None or at > seen:
            self.latest[partition] = at

    def add(self, table: Table[Any], row: tuple[Any, ...], origin: RawMessage | None) -> None:
        r = self.writes.get(table)
        if r is None:
            r = self.writes[table] = Rows()
        r.rows.append(row)
        r.origins.append(origin)

    def extend(
        self, table: Table[Any], rows: Iterable[tuple[Any, ...]], origin: RawMessage | None = None
    ) -> None:
        for row in rows:
            self.add(table, row, origin)

    def rows(self, table: Table[Any]) -> list[tuple[Any, ...]]:
        r = self.writes.get(table)
        return r.rows if r else []

    def merge(self, other: Output) -> None:
        for table, r in other.writes.items():
            mine = self.writes.setdefault(table, Rows())
            mine.rows += r.rows
            mine.origins += r.origins
        self.dead_letters += other.dead_letters
        self.alerts += other.alerts
        for partition, at in other.latest.items():
            self.saw(partition, at)
