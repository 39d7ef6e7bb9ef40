"""The warehouse writer's failure policy, against a real embedded warehouse.

Pins: a row the warehouse cannot take is returned with the reason while every other row of the
batch is written (no stall, no loss); the same batch written twice is kept once; an outage is
waited out and the batch written when the warehouse is back; a stop during an outage gives up at
once with the error (so the caller commits nothing).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.netutil import free_port
from pipeline.stream.writer import WarehouseWriter, is_refusal
from pipeline.tables import MENTION_SCORES, MentionScoreRow
from pipeline.warehouse.client import get_client
from pipeline.warehouse.migrate import apply_migrations
from tests.conftest import start_warehouse

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def row(n: int, minute: datetime = T0) -> MentionScoreRow:
    return MentionScoreRow(
        event_id=f"w:{n}", subject="kim", minute=minute, occurred_at=T0, author_id="a",
        terms=["Jordan Kim"], sentiment=0.0, negative=0, engagement_weight=1.0,
        audience_weight=1.0, validator="", reshare_of=None, reply_to=None,
    )  # fmt: skip


def count(url: str, prefix: str) -> int:
    q = "SELECT count() FROM buzz.mention_scores WHERE startsWith(event_id, {p:String})"
    return int(get_client(url=url).query(q, parameters={"p": prefix}).result_rows[0][0])


def test_a_row_the_warehouse_cannot_take_is_returned_and_the_rest_is_written(
    own_warehouse: str,
) -> None:
    writer = WarehouseWriter(lambda: get_client(url=own_warehouse))
    rows = [row(i) for i in range(50)]
    rows[17] = rows[17]._replace(event_id="w:bad", minute=datetime(2200, 1, 1, tzinfo=UTC))
    refused = writer.insert(MENTION_SCORES, rows, "writer-test-1")
    assert [r.index for r in refused] == [17]
    assert "minute" in refused[0].reason
    assert count(own_warehouse, "w:") == 49
    # The same batch again (a redelivery) is dropped by the warehouse: still 49.
    writer.insert(MENTION_SCORES, rows, "writer-test-1")
    assert count(own_warehouse, "w:") == 49


def test_an_outage_is_waited_out_and_the_batch_written_when_the_warehouse_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    writer = WarehouseWriter(lambda: get_client(url=url), max_backoff=1.0)
    result: list[object] = []
    thread = threading.Thread(
        target=lambda: result.append(writer.insert(MENTION_SCORES, [row(1)], "outage-1")),
        daemon=True,
    )
    thread.start()
    time.sleep(2)
    assert thread.is_alive()  # still waiting: nothing was given up
    child, _ = start_warehouse(tmp_path, port)
    try:
        apply_migrations(get_client(url=url))
        thread.join(60)
        assert result == [[]]
        assert count(url, "w:1") == 1
    finally:
        child.stop()


def test_a_stop_during_an_outage_gives_up_at_once_with_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    stop = threading.Event()
    writer = WarehouseWriter(lambda: get_client(url=url), stop=stop)
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(Exception) as info:
        writer.insert(MENTION_SCORES, [row(1)], "stop-1")
    assert time.monotonic() - t0 < 10
    assert not is_refusal(info.value)  # an outage, not the rows: the caller commits nothing
