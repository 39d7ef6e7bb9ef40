"""The Now page's spikes carry the alert of their episode, even across a 15-minute boundary.

Spike minutes are listed per subject and 15-minute bucket; an alert covers its whole episode
(``at`` to ``last_at``). An attack of 18:58 to 19:00 is two rows (buckets 18:45 and 19:00) and
one alert raised at 18:58: both rows must carry it (its title, reasons and state), or the page
says "Attack in progress" without what drives it whenever an attack runs across a quarter hour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from clickhouse_connect.driver.client import Client

from dashboard.queries import Window, now
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import ALERTS, BUZZ_MINUTES, AlertRow, BuzzMinuteRow
from pipeline.warehouse.client import get_client

pytestmark = pytest.mark.stack

START = (datetime.now(UTC) - timedelta(hours=1)).replace(minute=58, second=0, microsecond=0)
BOUNDARY = START + timedelta(minutes=2)  # a quarter hour: :00


@pytest.fixture(scope="module")
def client(own_warehouse: str) -> Iterator[Client]:
    writer = WarehouseWriter(lambda: get_client(url=own_warehouse))
    rows = [
        BuzzMinuteRow("kim", "candidate", START + timedelta(minutes=k), 10, 9, 10.0, 100.0,
                      -0.5, 0.8, 0.9, 2.0, 1.0, 8.0, 1, 1)
        for k in range(3)
    ]  # fmt: skip
    rows.append(
        BuzzMinuteRow("reyes", "rival", START + timedelta(minutes=20), 9, 9, 9.0, 90.0,
                      0.1, 0.1, 0.5, 2.0, 1.0, 7.0, 1, 0)
    )  # fmt: skip
    assert writer.insert(BUZZ_MINUTES, rows, "spikes-minutes") == []
    why = json.dumps({"hashtags": [["kimscandal", 12]]})
    alerts = [
        AlertRow("attack:kim:1", "attack", "kim", "critical", "Possible attack on Jordan Kim",
                 START, why, ["https://x.example/1"], 3, START + timedelta(minutes=2)),
        # A spike of another subject, another time: matched to nothing of kim's.
        AlertRow("spike:reyes:1", "spike", "reyes", "warning", "Spike in mentions of Dana Reyes",
                 START + timedelta(minutes=20), "{}", [], 1, START + timedelta(minutes=20)),
    ]  # fmt: skip
    assert writer.insert(ALERTS, alerts, "spikes-alerts") == []
    yield get_client(url=own_warehouse)


def test_every_row_of_an_episode_carries_its_alert(client: Client) -> None:
    window = Window.ending_at(START + timedelta(minutes=30), 60, 1)
    got = now.spikes(client, ["kim", "reyes"], window)
    kim = got[got["subject"] == "kim"].sort_values("first_minute")
    assert [t.to_pydatetime() for t in kim["alert_bucket"]] == [
        BOUNDARY - timedelta(minutes=15),
        BOUNDARY,
    ]
    assert kim["alert_id"].tolist() == ["attack:kim:1", "attack:kim:1"]
    assert kim["title"].tolist() == ["Possible attack on Jordan Kim"] * 2
    assert [e.get("hashtags") for e in kim["explanation"]] == [[["kimscandal", 12]]] * 2
    assert kim["example_urls"].tolist() == [["https://x.example/1"]] * 2
    reyes = got[got["subject"] == "reyes"]
    assert reyes["alert_id"].tolist() == ["spike:reyes:1"]
