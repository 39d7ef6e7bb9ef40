"""Coordinated bursts end to end on the real stack: organic talk is not flagged, a ring is.

Half an hour of the demo simulator's ordinary traffic (no attack: its template-made posts repeat
steadily, as a campaign's slogans and share buttons do), then, while the talk goes on, a ring of
30 new accounts pasting one talking point with small edits, 36 times within two minutes. Pins:
exactly one coordinated alert, about the candidate, naming the ring's accounts and text and
nobody else's; none while only organic talk flowed; and its share of the minute in the numbers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.campaign import load_campaign
from pipeline.events import Mention
from pipeline.scoring.baseline import floor_minute
from pipeline.simulator.engine import SimParams, Simulator
from pipeline.simulator.source import DEMO_PII_KEY
from pipeline.topics import MENTIONS
from tests.test_scenario_e2e import Stack, _author, _mention

pytestmark = pytest.mark.stack

NOW = datetime.now(UTC)
START = floor_minute(NOW) - timedelta(minutes=36)
RING_AT = START + timedelta(minutes=31, seconds=5)
POINT = ("Jordan Kim lied to every family in this district. The leaked emails prove it. "
         "Kim must resign before election day.")  # fmt: skip
EDITS = ("", "!!", " RT if you agree.", " #Resign", " Share this.", " 🇺🇸")


def organic() -> list[Mention]:
    """The simulator's ordinary mentions (no attack), before, during and after the ring."""
    sim = Simulator(
        load_campaign(),
        SimParams(seed=11, rate=15.0, mentions_share=1.0, threads_share=0.0, signups_share=0.0,
                  spikes=False),
        DEMO_PII_KEY,
        lambda t: START + timedelta(seconds=t),
    )  # fmt: skip
    out = []
    while True:
        t, e = sim.step()
        if t >= 34 * 60:
            return out
        assert isinstance(e, Mention)
        out.append(e)


def ring() -> list[Mention]:
    return [
        _mention(f"ring{i}", RING_AT + timedelta(seconds=3 * i), _author(f"newacct{i % 30}", 12),
                 POINT + EDITS[i % len(EDITS)] + f" https://smear.example/e?s={i}")
        for i in range(36)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("coordination"))
    try:
        yield s
    finally:
        s.stop()


def coordinated(s: Stack) -> list[tuple[Any, ...]]:
    return s.rows(
        "SELECT subject, at, title, explanation FROM buzz.alerts FINAL"
        " WHERE kind = 'coordinated' ORDER BY at"
    )


def test_only_the_ring_is_flagged_as_coordinated(stack: Stack) -> None:
    talk, burst = organic(), ring()
    assert len(talk) > 20_000
    worker = stack.start_worker("worker")
    stack.send(MENTIONS, [*talk, *burst])
    deadline = time.monotonic() + 180
    closed = RING_AT + timedelta(minutes=2)
    while time.monotonic() < deadline:
        got = stack.rows(
            "SELECT max(through) FROM buzz.stream_progress FINAL WHERE job = 'minutes'"
        )
        if got and got[0][0] and got[0][0].replace(tzinfo=UTC) >= closed:
            break
        time.sleep(1)
    else:
        raise AssertionError(worker.log_tail(60))
    found = coordinated(stack)
    assert len(found) == 1, (found, worker.log_tail(40))
    subject, at, title, explanation = found[0]
    assert subject == "kim" and at.replace(tzinfo=UTC) == floor_minute(RING_AT)
    why = json.loads(explanation)
    ring_accounts = {f"@newacct{i}" for i in range(30)}
    assert why["accounts"] == 30 and why["posts"] == 36
    assert set(why["burst"]["handles"]) <= ring_accounts
    assert why["burst"]["text"].startswith(POINT)
    assert "36 near-identical posts from 30 accounts" in title
    share = why["share"]
    assert 0 < share["share"] < 1 and share["posts"] <= share["total"]
    # Nothing before the ring, though the simulator's templates repeat all along.
    organic_flags = stack.rows(
        "SELECT count() FROM buzz.alerts WHERE kind = 'coordinated'"
        f" AND at < toDateTime64('{floor_minute(RING_AT):%Y-%m-%d %H:%M:%S}', 3, 'UTC')"
    )
    assert organic_flags == [(0,)]
