"""Alert delivery end to end on the real embedded stack: broker -> worker -> warehouse -> receiver.

A campaign with two signed-webhook routes for attacks: ``relay`` answers, ``stuck`` holds the
request without answering. The scripted attack (tests/test_scenario_e2e.py) is sent; the worker
raises the alert and delivers it to both. Once ``relay`` has it and ``stuck`` is waiting on its
receiver, the worker is killed (SIGKILL: between "sending" and the outcome on ``stuck``), a new
worker is started and the whole input is replayed. Pins: ``relay`` received the alert exactly
once, signed, with its link; ``stuck`` received it once and was never sent it again (recorded
as unknown by the new worker).
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from pipeline.topics import MENTIONS
from tests.conftest import ROOT, Child, buzz_cmd, clean_env, free_port, wait_for
from tests.delivery_receivers import SECRET, HttpReceiver
from tests.test_scenario_e2e import Stack, attack, ordinary_talk

pytestmark = pytest.mark.stack

DASH = "https://buzz.example.org"


def campaign(tmp: Path, relay: HttpReceiver, stuck: HttpReceiver) -> Path:
    data = yaml.safe_load((ROOT / "pipeline" / "campaigns" / "demo.yaml").read_text())
    data["routes"] = [
        {"name": "relay", "type": "webhook", "url": relay.url + "/buzz", "secret": "BUZZ_E2E_KEY",
         "kinds": ["attack"]},
        {"name": "stuck", "type": "webhook", "url": stuck.url + "/buzz", "secret": "BUZZ_E2E_KEY",
         "kinds": ["attack"]},
    ]  # fmt: skip
    path = tmp / "campaign.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return dict(json.loads(r.read()))


def until(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"not after {timeout}s: {what}")


class Run:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.stack = Stack(tmp)
        self.relay, self.stuck = HttpReceiver(SECRET), HttpReceiver(SECRET)
        self.stuck.hang = 1
        self.campaign = campaign(tmp, self.relay, self.stuck)

    def start_worker(self, name: str) -> tuple[Child, int]:
        port = free_port()
        env = clean_env(
            BUZZ_KAFKA_URL=self.stack.bootstrap, BUZZ_CLICKHOUSE_URL=self.stack.url,
            BUZZ_WORKER_WEB_PORT=str(port), BUZZ_SINK_BATCH_SECONDS="0.3",
            BUZZ_DATA_DIR=str(self.tmp), BUZZ_CAMPAIGN_FILE=str(self.campaign),
            BUZZ_E2E_KEY=SECRET, BUZZ_DASHBOARD_URL=DASH,
        )  # fmt: skip
        child = Child(buzz_cmd("worker"), self.tmp / f"{name}.log", env)
        self.stack.worker = child
        wait_for(lambda: health(port)["status"] == "ok", "buzz worker", child, timeout=60)
        return child, port

    def statuses(self, route: str) -> list[str]:
        rows = self.stack.rows(
            f"SELECT status FROM buzz.alert_deliveries WHERE route = '{route}' ORDER BY recorded_at"
        )
        return [str(r[0]) for r in rows]

    def stop(self) -> None:
        self.stack.stop()
        self.relay.stop()
        self.stuck.stop()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    r = Run(tmp_path_factory.mktemp("delivery-e2e"))
    try:
        yield r
    finally:
        r.stop()


def test_an_alert_reaches_its_receiver_once_across_a_kill_a_restart_and_a_replay(
    run: Run,
) -> None:
    first, _ = run.start_worker("worker-1")
    run.stack.send(MENTIONS, [*ordinary_talk(), *attack()])
    until(lambda: run.statuses("relay")[-1:] == ["sent"], "relay sent", 120)
    until(lambda: run.stuck.arrivals == 1, "stuck receiver reached")
    assert run.statuses("stuck")[-1] == "sending"
    os.killpg(first.proc.pid, signal.SIGKILL)  # mid-send on "stuck"
    first.proc.wait()

    second, port = run.start_worker("worker-2")
    run.stack.send(MENTIONS, [*ordinary_talk(), *attack()])  # the whole input again

    def passes() -> int:
        got = health(port)
        return int(dict(got["passes"]).get("deliver:relay", 0))  # type: ignore[call-overload]

    until(lambda: passes() >= 1, "worker-2 runs the delivery jobs")

    # The replay is read and written, the minutes re-closed, and deliveries get several passes.
    replayed = len(ordinary_talk()) + len(attack())
    until(lambda: int(health(port)["messages"]) >= replayed, "the replay read")  # type: ignore[call-overload]
    time.sleep(5)  # the minute-closing passes after it (they raise nothing new)
    start = passes()
    until(lambda: passes() >= start + 3, "three more delivery passes")

    assert len(run.relay.got) == 1, second.log_tail(60)
    assert run.relay.rejected == []
    body = run.relay.got[0].json()
    assert body["type"] == "alert" and body["data"]["kind"] == "attack"
    assert body["data"]["subject"] == "kim" and body["data"]["route"] == "relay"
    assert body["data"]["url"].startswith(f"{DASH}/alerts?alert=alert%3Aattack%3A")
    assert run.stack.rows("SELECT alert_id FROM buzz.alerts FINAL WHERE kind = 'attack'") == [
        (body["data"]["alert_id"],)
    ]
    assert run.relay.got[0].headers["webhook-id"].startswith("msg_")
    assert run.statuses("relay") == ["queued", "sending", "sent"]
    assert run.stuck.arrivals == 1
    assert run.statuses("stuck") == ["queued", "sending", "unknown"]
