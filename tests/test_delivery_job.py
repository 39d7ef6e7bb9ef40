"""The delivery job against a real warehouse and real local receivers.

Pins: urgent alerts go out at once and opportunities in the next digest slot; filters; quiet
hours (critical alerts let through, the rest held and sent when they end); a receiver that is
down is retried with backoff, recorded at every step, and holds up no other route; a worker
that dies between "sending" and the outcome never sends that alert again, and neither does a
replay of the alert; no secret in any log line or error recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.campaign import Campaign, load_campaign
from pipeline.delivery import channels
from pipeline.delivery.channels import build_channel
from pipeline.jobs.base import JobContext
from pipeline.jobs.delivery import RetryPolicy, RouteDelivery, slot_start
from pipeline.scoring.alerts import Alert
from pipeline.scoring.subjects import compile_subjects
from pipeline.scoring.validator_reach import index_validators
from pipeline.stream.alerts import AlertPublisher, alert_row
from pipeline.stream.coordinator import Coordinator
from pipeline.stream.reader import WarehouseReader
from pipeline.stream.writer import WarehouseWriter
from pipeline.tables import ALERTS
from pipeline.warehouse.client import get_client
from tests.delivery_receivers import SECRET, HttpReceiver, SmtpReceiver, http_receiver
from tests.delivery_samples import attack, spike_on, story, surge, validator_post

DASH = "https://buzz.example.org"
FAST = RetryPolicy(initial=0.2, maximum=1.0, max_attempts=3)
SLACK_TOKEN = "xoxTOKENthatMustNeverShow42"


class Harness:
    def __init__(self, url: str) -> None:
        def client() -> Any:
            return get_client(url=url)

        self.client = get_client(url=url)
        self.writer, self.reader = WarehouseWriter(client), WarehouseReader(client)

        async def nowhere(messages: object) -> None:
            return None

        self.publisher = AlertPublisher(self.writer, self.reader, nowhere)
        self.n = 0

    def campaign(self, *routes: dict[str, Any]) -> Campaign:
        data = load_campaign().model_dump(mode="json")
        data["routes"] = list(routes)
        return Campaign.model_validate(data)

    def job(
        self, route: dict[str, Any], secrets: dict[str, SecretStr], policy: RetryPolicy = FAST
    ) -> RouteDelivery:
        camp = self.campaign(route)
        ctx = JobContext(
            camp, compile_subjects(camp.subjects), index_validators(camp), self.reader,
            self.writer, self.publisher, lambda: {},
        )  # fmt: skip
        r = camp.routes[0]
        return RouteDelivery(ctx, r, build_channel(r, secrets), DASH, policy)

    def publish(self, *alerts: Alert) -> None:
        asyncio.run(self.publisher.publish(list(alerts)))

    def replay(self, a: Alert) -> None:
        """The same alert written again (a new version of its row, as a re-raise would)."""
        self.n += 1
        self.writer.insert(ALERTS, [alert_row(a)], f"replay-{self.n}")

    def rows(self, route: str) -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in self.client.query(
                "SELECT alert_id, status, attempt, mode, error, next_attempt_at IS NOT NULL"
                " FROM buzz.alert_deliveries WHERE route = {r:String} ORDER BY recorded_at",
                parameters={"r": route},
            ).result_rows
        ]


@pytest.fixture(scope="module")
def h(own_warehouse: str) -> Harness:
    return Harness(own_warehouse)


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with http_receiver(SECRET) as r:
        yield r


def webhook(name: str, r: HttpReceiver, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "webhook", "url": r.url + "/in", "secret": "BUZZ_T_SECRET", **kw}


SIGNING = {"secret": SecretStr(SECRET)}
NOW = datetime.now(UTC).replace(microsecond=0)


def kinds_got(r: HttpReceiver) -> list[Any]:
    out = []
    for g in r.got:
        body = g.json()
        if body["type"] == "alert":
            out.append(body["data"]["kind"])
        else:
            out.append(sorted(a["kind"] for a in body["data"]["alerts"]))
    return out


def run(job: RouteDelivery, now: datetime | None = None) -> list[tuple[str, str]]:
    return asyncio.run(job.run_once(now))


def test_urgent_at_once_opportunities_in_the_next_digest_slot(
    h: Harness, hook: HttpReceiver
) -> None:
    job = h.job(webhook("slots", hook, digest_minutes=30), SIGNING)
    asyncio.run(job.load())
    h.publish(attack(NOW), validator_post("slots-1", at=NOW))
    now = datetime.now(UTC)
    run(job, now)
    assert kinds_got(hook) == ["attack"]
    nxt = slot_start(now, 30) + timedelta(minutes=30)
    run(job, nxt - timedelta(seconds=1))  # still the slot it was queued in: waits
    assert kinds_got(hook) == ["attack"]
    run(job, nxt + timedelta(seconds=1))
    assert kinds_got(hook) == ["attack", ["validator_first"]]
    run(job, nxt + timedelta(minutes=1))  # one digest per slot, and nothing new anyway
    h.publish(validator_post("slots-2", at=NOW), validator_post("slots-3", at=NOW))
    run(job, nxt + timedelta(minutes=2))  # queued in this slot: the next digest takes them
    assert len(hook.got) == 2
    run(job, nxt + timedelta(minutes=30))
    assert kinds_got(hook) == ["attack", ["validator_first"], ["validator_first"] * 2]
    rows = h.rows("slots")
    assert [r[1] for r in rows if r[0] == attack(NOW).alert_id] == ["queued", "sending", "sent"]
    assert {r[3] for r in rows if r[0] != attack(NOW).alert_id} == {"digest"}


def test_filters_by_kind_severity_and_subject(h: Harness, hook: HttpReceiver) -> None:
    route = webhook("filtered", hook, kinds=["attack", "spike", "signup_surge"],
                    min_severity="critical", subjects=["kim", "transit"])  # fmt: skip
    job = h.job(route, SIGNING)
    asyncio.run(job.load())
    t = NOW + timedelta(hours=1)
    h.publish(attack(t), spike_on("transit", t), surge(t), validator_post("filtered", at=t))
    run(job)
    assert kinds_got(hook) == ["attack"]
    assert {r[0] for r in h.rows("filtered")} == {attack(t).alert_id}


def quiet(let_through: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
        "timezone": "UTC",
        "let_through": let_through,
    }


@pytest.mark.parametrize(("let_through", "at_once"), [("critical", ["attack"]), ("none", [])])
def test_quiet_hours_hold_all_but_what_is_let_through_until_they_end(
    h: Harness, hook: HttpReceiver, let_through: str, at_once: list[str]
) -> None:
    name = f"quiet-{let_through}"
    job = h.job(webhook(name, hook, quiet_hours=quiet(let_through)), SIGNING)
    asyncio.run(job.load())
    t = NOW + timedelta(hours=2 if let_through == "none" else 3)
    h.publish(attack(t), surge(t), validator_post(name, at=t))
    now = datetime.now(UTC)
    run(job, now)
    run(job, now + timedelta(minutes=50))  # still quiet: no digest either
    assert kinds_got(hook) == at_once
    run(job, now + timedelta(hours=1, minutes=1))  # over: what was held goes out at once
    held = sorted(["signup_surge", "validator_first", *([] if at_once else ["attack"])])
    assert kinds_got(hook) == [*at_once, held]
    digest = hook.got[-1].json()["data"]["alerts"]
    assert digest[-1]["kind"] == "validator_first"  # urgent alerts first, then opportunities


def test_a_receiver_down_is_retried_with_backoff_and_recorded(
    h: Harness, hook: HttpReceiver
) -> None:
    hook.fail = [(503, "maintenance"), (502, "bad gateway")]
    job = h.job(webhook("retry", hook), SIGNING, RetryPolicy(initial=10, maximum=20))
    asyncio.run(job.load())
    a = attack(NOW + timedelta(hours=4))
    h.publish(a)
    t = datetime.now(UTC)
    assert run(job, t) == [(a.alert_id, "failed")]
    assert run(job, t + timedelta(seconds=9)) == []  # waits 10 s (and up to 1 s of jitter)
    assert run(job, t + timedelta(seconds=12)) == [(a.alert_id, "failed")]
    assert run(job, t + timedelta(seconds=12 + 19)) == []  # then 20 s
    assert run(job, t + timedelta(seconds=12 + 22)) == [(a.alert_id, "sent")]
    assert hook.arrivals == 3 and kinds_got(hook) == ["attack"]
    assert [(r[1], r[2], r[4], r[5]) for r in h.rows("retry")] == [
        ("queued", 0, "", False),
        ("sending", 1, "", False),
        ("failed", 1, "HTTP 503: maintenance", True),
        ("sending", 2, "", False),
        ("failed", 2, "HTTP 502: bad gateway", True),
        ("sending", 3, "", False),
        ("sent", 3, "", False),
    ]


def test_retries_stop_after_the_last_attempt_and_a_refusal_is_not_retried(
    h: Harness, hook: HttpReceiver
) -> None:
    hook.fail = [(503, "down")] * 3 + [(404, "no such hook")]
    job = h.job(webhook("give-up", hook), SIGNING)
    asyncio.run(job.load())
    a, b = attack(NOW + timedelta(hours=5)), surge(NOW + timedelta(hours=5))
    h.publish(a, b)
    t = datetime.now(UTC)
    outcomes = [run(job, t + timedelta(seconds=5 * k)) for k in range(4)]
    assert outcomes == [
        [(a.alert_id, "failed")],
        [(a.alert_id, "failed")],
        [(a.alert_id, "failed"), (b.alert_id, "failed")],  # given up: the route goes on; a 404
        [],
    ]
    final = {r[0]: r for r in h.rows("give-up")}
    assert final[a.alert_id][1:3] == ("failed", 3)
    assert final[a.alert_id][4] == "gave up after 3 attempts: HTTP 503: down"
    assert final[b.alert_id][1:] == ("failed", 1, "now", "HTTP 404: no such hook", False)
    assert hook.got == []


def test_a_route_that_is_down_holds_up_no_other_route(
    h: Harness, hook: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channels, "SEND_TIMEOUT", 5.0)
    with http_receiver(SECRET) as stuck:
        stuck.hang = 1
        jobs = [h.job(webhook("stuck", stuck), SIGNING), h.job(webhook("fine", hook), SIGNING)]

        async def scenario() -> float:
            coord = Coordinator(jobs)
            await coord.start()
            await asyncio.sleep(1.0)  # both loaded
            await asyncio.to_thread(h.publish, attack(NOW + timedelta(hours=6)))
            clock = asyncio.get_running_loop().time
            got_at = stuck_at = None
            deadline = clock() + 20
            while (got_at is None or stuck_at is None) and clock() < deadline:
                if got_at is None and hook.got:
                    got_at = clock()
                if stuck_at is None and stuck.arrivals:
                    stuck_at = clock()
                await asyncio.sleep(0.02)
            await coord.stop()
            assert got_at is not None and stuck_at is not None, (hook.got, stuck.arrivals)
            # The two jobs' passes run in either order; whichever went first, the fine route's
            # message arrived while the stuck receiver was still holding the other one (5 s).
            return got_at - stuck_at

        lead = asyncio.run(scenario())
    assert lead < 4.0, lead
    assert kinds_got(hook) == ["attack"]


def test_a_worker_that_died_mid_send_never_sends_again_nor_does_a_replay(
    h: Harness, hook: HttpReceiver
) -> None:
    first = h.job(webhook("crash", hook), SIGNING)
    asyncio.run(first.load())
    a = attack(NOW + timedelta(hours=7))
    h.publish(a)
    hook.hang = 1

    async def die_mid_send() -> None:
        task = asyncio.create_task(first.run_once())
        while hook.arrivals == 0:
            await asyncio.sleep(0.02)
        task.cancel()  # the worker is gone: nothing after the send runs
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(die_mid_send())
    assert [r[1] for r in h.rows("crash")] == ["queued", "sending"]
    second = h.job(webhook("crash", hook), SIGNING)  # the next worker to run the route
    asyncio.run(second.load())
    h.replay(a)
    assert run(second) == []
    assert run(second, datetime.now(UTC) + timedelta(hours=1)) == []
    assert hook.arrivals == 1
    last = h.rows("crash")[-1]
    assert last[1] == "unknown" and "not sent again" in last[4]


def test_no_secret_in_any_log_line_or_recorded_error(
    h: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = SmtpReceiver("buzz", "sMtP-pAsS-99")
    with http_receiver() as slack:
        url = f"{slack.url}/services/T1/B1/{SLACK_TOKEN}"
        slack.fail = [(500, f"proxy error calling {url}")]
        jobs = [
            h.job({"name": "secret-slack", "type": "slack", "webhook_url": "BUZZ_T_SLACK"},
                  {"webhook_url": SecretStr(url)}),
            h.job({"name": "secret-mail", "type": "email", "to": ["a@kim.example"],
                   "from": "b@kim.example", "host": "127.0.0.1", "port": smtp.port,
                   "security": "none", "username": "buzz", "password": "BUZZ_T_SMTP"},
                  {"password": SecretStr("sMtP-pAsS-99")}),
        ]  # fmt: skip
        for j in jobs:
            asyncio.run(j.load())
        h.publish(attack(NOW + timedelta(hours=8)))
        t = datetime.now(UTC)
        for j in jobs:
            run(j, t)
            run(j, t + timedelta(seconds=5))
        smtp.stop()
    assert len(slack.got) == 1 and len(smtp.messages) == 1
    recorded = " ".join(str(r) for n in ("secret-slack", "secret-mail") for r in h.rows(n))
    assert "[secret]" in recorded  # the receiver's echo of the URL was recorded, redacted
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-slack" in logged  # the job did log
    for secret in (SLACK_TOKEN, "sMtP-pAsS-99", SECRET):
        assert secret not in logged
        assert secret not in recorded


def deliveries(h: Harness, route: str) -> list[tuple[Any, ...]]:
    """The route's deliveries as the Health page reads them: one row each."""
    rows = h.client.query(
        "SELECT alert_id, kind, severity, status FROM buzz.alert_delivery_status"
        " WHERE route = {r:String} ORDER BY queued_at",
        parameters={"r": route},
    ).result_rows
    return [tuple(r) for r in rows]


def test_an_escalation_is_delivered_once_more_and_plain_updates_never(
    h: Harness, hook: HttpReceiver
) -> None:
    with http_receiver(SECRET) as attacks_only:
        routes = [webhook("esc-all", hook), webhook("esc-attacks", attacks_only, kinds=["attack"])]
        jobs = [h.job(r, SIGNING) for r in routes]
        for j in jobs:
            asyncio.run(j.load())
        spike, more, turned, still = story(
            NOW + timedelta(hours=9),
            [(12, 7.1, False), (14, 8.0, False), (30, 12.0, True), (40, 15.0, True)],
        )
        assert {a.alert_id for a in (spike, more, turned, still)} == {spike.alert_id}
        assert (spike.kind, spike.severity, turned.kind, turned.severity) == (
            "spike", "warning", "attack", "critical",
        )  # fmt: skip

        def step(*alerts: Alert) -> None:
            h.publish(*alerts)
            for j in jobs:
                run(j)

        step(spike)
        step(more)  # counts grew: the same spike, not news
        assert kinds_got(hook) == ["spike"] and attacks_only.got == []
        step(turned)
        assert kinds_got(hook) == ["spike", "attack"]
        assert kinds_got(attacks_only) == ["attack"]  # the attack version of an alert it skipped
        step(still)
        h.replay(turned)
        h.replay(spike)
        for j in jobs:
            run(j)
        # A restart: the next worker reads the record, not memory.
        jobs = [h.job(r, SIGNING) for r in routes]
        for j in jobs:
            asyncio.run(j.load())
            run(j)
            run(j, datetime.now(UTC) + timedelta(hours=1))
        h.replay(still)
        for j in jobs:
            run(j)
    assert kinds_got(hook) == ["spike", "attack"] and kinds_got(attacks_only) == ["attack"]

    first, second = (g.json()["data"] for g in hook.got)
    assert first["escalated_from"] is None and not first["text"].startswith("Escalated")
    assert second["escalated_from"] == {"kind": "spike", "severity": "warning"}
    assert second["text"].startswith("Escalated: Attack · Jordan Kim: Possible attack")
    assert second["alert_id"] == first["alert_id"] == spike.alert_id
    ids = [g.headers["webhook-id"] for g in hook.got]
    assert len(set(ids)) == 2  # receivers de-duplicate on it: an escalation is a new message
    only = attacks_only.got[0].json()["data"]
    assert only["escalated_from"] is None  # that route never heard of the spike
    assert deliveries(h, "esc-all") == [
        (spike.alert_id, "spike", "warning", "sent"),
        (spike.alert_id, "attack", "critical", "sent"),
    ]
    assert deliveries(h, "esc-attacks") == [(spike.alert_id, "attack", "critical", "sent")]


def test_a_rising_severity_is_sent_again_and_says_so(h: Harness, hook: HttpReceiver) -> None:
    job = h.job(webhook("esc-severity", hook), SIGNING)
    asyncio.run(job.load())
    info, warning = story(NOW + timedelta(hours=10), [(9, 4.0, False), (11, 7.5, False)])
    assert (info.severity, warning.severity) == ("info", "warning")
    h.publish(info)
    h.publish(warning)  # both versions seen by one pass: each is judged
    run(job)
    assert [g.json()["data"]["severity"] for g in hook.got] == ["info", "warning"]
    second = hook.got[1].json()["data"]
    assert second["escalated_from"] == {"kind": "spike", "severity": "info"}
    assert second["text"].startswith("Escalated: Spike · Jordan Kim")


def test_a_worker_that_died_mid_send_of_an_escalation_never_sends_it_again(
    h: Harness, hook: HttpReceiver
) -> None:
    first = h.job(webhook("esc-crash", hook), SIGNING)
    asyncio.run(first.load())
    spike, turned = story(NOW + timedelta(hours=11), [(12, 7.1, False), (30, 12.0, True)])
    h.publish(spike)
    run(first)
    h.publish(turned)
    hook.hang = 1

    async def die_mid_send() -> None:
        task = asyncio.create_task(first.run_once())
        for _ in range(500):  # the escalation reaches the receiver, which holds it
            if hook.arrivals == 2:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(die_mid_send())
    assert hook.arrivals == 2
    second = h.job(webhook("esc-crash", hook), SIGNING)
    asyncio.run(second.load())
    h.replay(turned)
    assert run(second) == []
    assert hook.arrivals == 2
    assert deliveries(h, "esc-crash") == [
        (spike.alert_id, "spike", "warning", "sent"),
        (spike.alert_id, "attack", "critical", "unknown"),
    ]
