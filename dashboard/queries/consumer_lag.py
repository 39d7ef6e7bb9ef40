"""How far the worker is behind: its consumer group's committed offsets against end offsets.

This asks the broker, not the warehouse: the only dashboard read that does. Timeouts are short
because the Health page waits for the answer; a broker that does not answer within them is
reported as unreachable, in words, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.errors import KafkaError

from pipeline.topics import STREAM_GROUP

WORKER_GROUP = STREAM_GROUP
TIMEOUT_MS = 2500


@dataclass(frozen=True)
class LagReport:
    """``partitions`` has topic, partition, committed, end, lag; ``problem`` says what failed."""

    bootstrap: str
    partitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    problem: str | None = None

    @property
    def total(self) -> int:
        return int(self.partitions["lag"].sum()) if not self.partitions.empty else 0


def read_lag(bootstrap: str, group: str = WORKER_GROUP) -> LagReport:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="buzz-dashboard",
            request_timeout_ms=TIMEOUT_MS,
            bootstrap_timeout_ms=TIMEOUT_MS,
        )
    except (KafkaError, OSError) as exc:
        return LagReport(bootstrap, problem=f"The broker at {bootstrap} is not answering ({exc}).")
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
        if not committed:
            return LagReport(
                bootstrap, problem=f"The worker group `{group}` has committed nothing yet."
            )
        ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in committed})
    except (KafkaError, OSError) as exc:
        return LagReport(bootstrap, problem=f"The broker at {bootstrap} could not say ({exc}).")
    finally:
        admin.close()
    rows = []
    for tp, meta in sorted(committed.items()):
        end = ends[tp].offset if tp in ends else None
        done = meta.offset if meta.offset >= 0 else 0
        # A little negative on the embedded broker, whose end offsets are approximate.
        lag = max(0, end - done) if end is not None else 0
        rows.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "committed": done,
                "end": end,
                "lag": lag,
            }
        )
    return LagReport(bootstrap, partitions=pd.DataFrame(rows))
