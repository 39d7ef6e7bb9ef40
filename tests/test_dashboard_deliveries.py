"""The Health page's alert delivery section and the Alerts page's one-alert link, with AppTest
against a real warehouse holding delivery records written by the delivery ledger.

Pins: every route of the campaign file is listed (one never used says so), with its last
delivery and the last day's counts; a route whose last delivery failed is said out loud with
its error; problems list the error and whether a retry is coming. ``/alerts?alert=<id>`` (the
link in every delivered message) shows that one alert.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.delivery.ledger import Delivery, Ledger
from pipeline.stream.alerts import alert_row
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import ALERTS
from pipeline.warehouse.client import get_client
from tests.conftest import ROOT
from tests.delivery_samples import attack, stored, surge, validator_post
from tests.test_dashboard import dashboard_env as dashboard_env
from tests.test_dashboard import markdown_text, open_page, table_with

NOW = datetime.now(UTC).replace(microsecond=0)
ATTACK, SURGE, POST = attack(NOW), surge(NOW), validator_post("dash-1", at=NOW)


@pytest.fixture(scope="module")
def seeded(own_warehouse: str) -> str:
    def client() -> Any:
        return get_client(url=own_warehouse)

    writer, reader = WarehouseWriter(client), WarehouseReader(client)
    writer.insert(ALERTS, [alert_row(a) for a in (ATTACK, SURGE, POST)], "dash-alerts")

    async def record() -> None:
        press = Ledger(reader, writer, "press", "slack", "w:1")
        a, p = Delivery(stored(ATTACK), "now", NOW), Delivery(stored(POST), "digest", NOW)
        await press.record([a, p], "queued")
        await press.claim([a])
        await press.record([a], "sent")
        relay = Ledger(reader, writer, "relay", "webhook", "w:1")
        s = Delivery(stored(SURGE), "now", NOW)
        await relay.record([s], "queued")
        await relay.claim([s])
        await relay.record([s], "failed", error="HTTP 503: maintenance",
                           next_attempt_at=NOW + timedelta(minutes=5))  # fmt: skip
        await relay.claim([s])
        await relay.record([s], "failed", error="HTTP 404: no such hook")

    asyncio.run(record())
    return own_warehouse


def with_routes(env: Any, tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "pipeline" / "campaigns" / "demo.yaml").read_text())
    data["routes"] = [
        {"name": "press", "type": "slack", "webhook_url": "BUZZ_T_SLACK"},
        {"name": "relay", "type": "webhook", "url": "https://relay.example/in",
         "secret": "BUZZ_T_KEY"},
        {"name": "desk", "type": "email", "to": ["d@kim.example"], "from": "b@kim.example",
         "host": "smtp.kim.example"},
    ]  # fmt: skip
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(data))
    env.setenv("BUZZ_CAMPAIGN_FILE", str(path))


def test_health_shows_each_route_and_what_failed(
    seeded: str, dashboard_env: Any, tmp_path: Path
) -> None:
    with_routes(dashboard_env, tmp_path)
    at = open_page(seeded, dashboard_env, "health")
    routes = table_with(at, "waiting").set_index("route")
    assert routes.loc["press", "status"] == "sent" and routes.loc["press", "sent"] == 1
    assert routes.loc["press", "waiting"] == 1  # the validator post, for the digest
    assert routes.loc["relay", "status"] == "FAILED" and routes.loc["relay", "failed"] == 1
    assert routes.loc["desk", "status"] == "nothing yet"
    assert list(routes.index) == ["press", "relay", "desk"]  # the campaign file's order
    assert any(
        "**relay** (webhook): the last delivery failed" in e.value
        and "HTTP 404: no such hook" in e.value
        for e in at.error
    )
    problems = table_with(at, "attempts")
    assert problems[["route", "status", "attempts", "retry", "error"]].values.tolist() == [
        ["relay", "FAILED", 2, "no", "HTTP 404: no such hook"]
    ]
    assert problems["alert"].tolist() == [SURGE.title]


def test_health_without_routes_says_how_to_add_them(seeded: str, dashboard_env: Any) -> None:
    at = open_page(seeded, dashboard_env, "health")
    assert any("No routes in the campaign file" in c.value for c in at.caption)


def test_the_link_in_a_message_opens_that_alert(seeded: str, dashboard_env: Any) -> None:
    at = open_page(seeded, dashboard_env, "alerts", alert=POST.alert_id)
    text = markdown_text(at)
    assert "First post from validator Mayor Torres" in text
    assert "Possible attack" not in text and "Signup surge" not in text
    at.button(key="alerts_show_all").click().run()
    assert "alert" not in at.query_params
    assert "Possible attack on Jordan Kim" in markdown_text(at)
