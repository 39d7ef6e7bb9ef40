"""The demo campaign simulator: valid, repeatable, believable events, and the scripted attack."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import SecretStr

from pipeline.campaign import load_campaign
from pipeline.events import Mention, Signup, ThreadPost, decode
from pipeline.settings import load_settings
from pipeline.simulator.engine import Event, SimParams, Simulator
from pipeline.simulator.people import referral_code
from pipeline.simulator.source import DemoSource
from pipeline.simulator.text import STORIES
from pipeline.sources import MemoryEmitter, Runner, RunOptions
from pipeline.sources.testing import SourceTestSuite
from pipeline.topics import MENTIONS, SIGNUPS, THREADS
from tests.conftest import start_broker

pytestmark = pytest.mark.usefixtures("isolated_settings")

START = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
KEY = SecretStr("test-pii-key")


class TestDemoStandard(SourceTestSuite):
    source_cls = DemoSource
    options: ClassVar[dict[str, Any]] = {"seed": 11, "realtime": False, "rate": 1000.0}


def simulate(seed: int = 7, n: int = 4000, **params: Any) -> list[tuple[float, Event]]:
    sim = Simulator(
        load_campaign(None),
        SimParams(seed=seed, **params),
        KEY,
        lambda t: START + timedelta(seconds=t),
    )
    return [sim.step() for _ in range(n)]


@pytest.fixture(scope="module")
def run() -> list[tuple[float, Event]]:
    return simulate()  # about three minutes of simulated activity at 20 events/s


def test_every_event_validates_against_its_topic(run: list[tuple[float, Event]]) -> None:
    for _, event in run:
        assert decode(event.topic, event.to_json()) == event.model_copy(
            update={"ingested_at": decode(event.topic, event.to_json()).ingested_at}
        )


def test_ids_unique_and_stable_for_a_seed(run: list[tuple[float, Event]]) -> None:
    ids = [e.event_id for _, e in run]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"demo:[0-9a-f]{6}-\d+", i) for i in ids)
    again = [e.event_id for _, e in simulate(n=4000)]
    assert again == ids
    other = {e.event_id for _, e in simulate(seed=8, n=500)}
    assert not other & set(ids)  # another seed, another run: no collisions in the warehouse


def test_same_seed_same_content(run: list[tuple[float, Event]]) -> None:
    again = simulate(n=300)
    assert [e.to_json() for _, e in again] == [
        e.model_copy(update={"ingested_at": a.ingested_at}).to_json()
        for (_, e), (_, a) in zip(run[:300], again, strict=True)
    ]


def test_reshares_and_replies_point_at_earlier_mentions(run: list[tuple[float, Event]]) -> None:
    seen: dict[str, Mention] = {}
    depth: dict[str, int] = {}
    reshares = replies = 0
    for _, e in run:
        if not isinstance(e, Mention):
            continue
        if e.reshare_of:
            assert e.reshare_of in seen, "reshare of a mention not seen before"
            depth[e.event_id] = depth.get(e.reshare_of, 0) + 1
            reshares += 1
        if e.reply_to:
            assert e.reply_to in seen
            replies += 1
        seen[e.event_id] = e
    assert reshares > 0.15 * len(seen) and replies > 0.05 * len(seen)
    assert max(depth.values()) >= 3  # cascades several levels deep
    # Heavy tail: a handful of posts collect most reshares.
    sizes = Counter(m.reshare_of for m in seen.values() if m.reshare_of)
    assert sizes.most_common(1)[0][1] >= 20


def test_attack_spike_in_the_first_two_minutes(run: list[tuple[float, Event]]) -> None:
    mentions = [(t, e) for t, e in run if isinstance(e, Mention)]
    story = [(t, e) for t, e in mentions if e.author.handle == "thecapitolscoop"]
    assert story, "no attack story"
    t0, origin = story[0]
    assert t0 < 120
    tag = next(h for h in origin.hashtags if h.startswith("kim"))
    assert origin.links and "capitolscoop" in origin.links[0]

    def about_kim(t_from: float, t_to: float) -> int:
        return sum(1 for t, e in mentions if t_from <= t < t_to and "Kim" in e.text)

    baseline = about_kim(0, 60)
    assert about_kim(t0, t0 + 60) > 3 * baseline
    tagged = [e for t, e in mentions if tag in e.hashtags]
    assert len(tagged) > 200
    critical = re.compile(
        r"(?i)disgusting|shameful|drop out|answer for|corrupt|apology|almost voted"
    )
    assert sum(1 for e in tagged if critical.search(e.text)) > 0.3 * len(tagged)


def test_spikes_repeat_and_can_be_disabled() -> None:
    quiet = simulate(n=3000, spikes=False)
    assert not any(isinstance(e, Mention) and "capitolscoop" in e.text for _, e in quiet)
    fast = simulate(n=6000, rate=40.0, first_spike_after=10, spike_every=60, spike_seconds=20)
    origins = [
        t for t, e in fast if isinstance(e, Mention) and e.author.handle == "thecapitolscoop"
    ]
    assert len(origins) >= 2 and origins[1] - origins[0] == pytest.approx(60, abs=2)


def test_event_mix_is_about_70_20_10() -> None:
    counts = Counter(e.topic for _, e in simulate(n=5000, spikes=False))
    assert counts[MENTIONS] / 5000 == pytest.approx(0.7, abs=0.04)
    assert counts[THREADS] / 5000 == pytest.approx(0.2, abs=0.04)
    assert counts[SIGNUPS] / 5000 == pytest.approx(0.1, abs=0.03)


def test_validators_post_and_drive_referrals(run: list[tuple[float, Event]]) -> None:
    campaign = load_campaign(None)
    handles = {v.handles["x"] for v in campaign.validators}
    posted = {e.author.handle for _, e in run if isinstance(e, Mention) and not e.reshare_of}
    assert len(handles & posted) >= 3
    codes = {referral_code(v) for v in campaign.validators}
    signups = [e for _, e in run if isinstance(e, Signup)]
    assert {s.channel for s in signups} == {"web", "event", "referral"}
    assert len({s.referral_code for s in signups} & codes) >= 3
    assert any(s.utm.content.startswith("demo:") for s in signups)  # attributed to a mention


def test_threads_have_chains_questions_and_low_effort(run: list[tuple[float, Event]]) -> None:
    posts = [e for _, e in run if isinstance(e, ThreadPost)]
    by_thread: dict[str, list[ThreadPost]] = {}
    for p in posts:
        if p.parent_id is not None:
            assert p.parent_id in {q.post_id for q in by_thread[p.thread_id]}
        by_thread.setdefault(p.thread_id, []).append(p)
    assert all(ps[0].parent_id is None for ps in by_thread.values())
    assert any(len(ps) >= 8 for ps in by_thread.values())
    texts = [p.text for p in posts]
    assert sum(t in ("Great post!", "+1", "Thanks for sharing!") for t in texts) > 10
    assert any(len(t) > 120 and "http" in t for t in texts)  # substantive, with sources
    unanswered = [ps for ps in by_thread.values() if len(ps) == 1 and ps[0].text.endswith("?")]
    assert unanswered, "no unanswered question threads"
    # Chains: some replies answer a reply, not just the opening post.
    openers = {ps[0].post_id for ps in by_thread.values()}
    assert sum(1 for p in posts if p.parent_id and p.parent_id not in openers) > 20


def test_text_reads_like_people_wrote_it(run: list[tuple[float, Event]]) -> None:
    for _, e in run:
        text = getattr(e, "text", "")
        assert "{" not in text and "None" not in text and "  " not in text
    mentions = [e for _, e in run if isinstance(e, Mention)]
    assert len({m.text for m in mentions if not m.reshare_of}) > 150  # varied, not a loop
    assert {"en", "es"} <= {m.lang for m in mentions}
    audiences = sorted(m.author.audience for m in mentions)
    median, top = audiences[len(audiences) // 2], audiences[-1]
    assert median < 300 and top > 100_000  # many small accounts, a few big ones


def test_no_clear_text_pii_in_signups(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.simulator import signups as demo_signups

    clear: list[str] = []  # what the simulator made up, caught on its way into the HMAC

    def spy(fn: Any) -> Any:
        def wrapped(value: str, key: SecretStr | None) -> str:
            clear.append(value)
            return str(fn(value, key))

        return wrapped

    monkeypatch.setattr(demo_signups, "hmac_email", spy(demo_signups.hmac_email))
    monkeypatch.setattr(demo_signups, "hmac_phone", spy(demo_signups.hmac_phone))
    signups = [e for _, e in simulate(n=3000) if isinstance(e, Signup)]
    assert signups and all(s.email_hmac for s in signups)
    assert any(s.phone_hmac for s in signups) and any(s.phone_hmac is None for s in signups)
    assert any("@" in c for c in clear) and any(c.startswith("+1") for c in clear)
    blob = b"\n".join(s.to_json() for s in signups).decode()
    for value in clear:
        assert value not in blob and value.lower() not in blob
        assert value.split("@")[0] not in blob  # not even the local part
        if "@" not in value:  # a phone: its digits in any layout
            assert re.sub(r"\D", "", value) not in blob
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", blob)


def test_demo_key_used_and_logged_when_no_pii_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = RunOptions(limit=300)
    cfg = DemoSource.Config.load("demo", seed=5, realtime=False, rate=1000.0)
    caplog.set_level(logging.INFO)
    em = MemoryEmitter()
    assert Runner(DemoSource, cfg, load_settings(data_dir=tmp_path), options, emitter=em).run() == 0
    assert "DEMO_PII_KEY" in caplog.text and "seed 5" in caplog.text
    em2 = MemoryEmitter()
    keyed = load_settings(data_dir=tmp_path, pii_key="real-key")
    Runner(DemoSource, cfg, keyed, options, emitter=em2).run()
    hashes = [r.email_hmac for r in em.records if isinstance(r, Signup)]
    hashes2 = [r.email_hmac for r in em2.records if isinstance(r, Signup)]
    assert len(hashes) == len(hashes2) > 0 and not set(hashes) & set(hashes2)
    assert "real-key" not in caplog.text


def test_live_mode_stamps_now_and_once_emits_one_burst(tmp_path: Path) -> None:
    cfg = DemoSource.Config.load("demo", seed=1, rate=40.0)
    em = MemoryEmitter()
    before = datetime.now(UTC)
    runner = Runner(
        DemoSource, cfg, load_settings(data_dir=tmp_path), RunOptions(once=True), emitter=em
    )
    assert runner.run() == 0
    assert len(em.records) == 40 and runner.stats.stop_reason == "--once"
    after = datetime.now(UTC)
    assert all(before <= r.occurred_at <= after for r in em.records)  # type: ignore[attr-defined]


def test_live_run_backfills_quiet_history_once_then_goes_live(tmp_path: Path) -> None:
    """Baselines need a past: the first live run replays ordinary minutes, a restart does not."""
    settings = load_settings(data_dir=tmp_path)
    cfg = DemoSource.Config.load("demo", seed=4, rate=50.0, history_minutes=1.0)
    em = MemoryEmitter()
    before = datetime.now(UTC)
    assert Runner(DemoSource, cfg, settings, RunOptions(limit=3200), emitter=em).run() == 0
    times = [r.occurred_at for r in em.records]  # type: ignore[attr-defined]
    assert times == sorted(times)
    assert before - timedelta(seconds=65) <= times[0] <= before - timedelta(seconds=55)
    assert times[-1] >= before  # the last ones are live
    past = [t for t in times if t < before]
    assert 2700 <= len(past) <= 3150  # a minute at 50 events/s
    # The history is calm: no attack story's hashtag appears in it (attacks come live) ...
    assert not _story_tags(em.records)
    # ... while a run that starts with an attack does carry them (so the check above can fail).
    attack = DemoSource.Config.load("demo", seed=4, realtime=False, first_spike_after=0.0)
    em3 = MemoryEmitter()
    assert Runner(DemoSource, attack, settings, RunOptions(limit=300), emitter=em3).run() == 0
    assert _story_tags(em3.records)

    em2 = MemoryEmitter()
    start2 = datetime.now(UTC)
    assert Runner(DemoSource, cfg, settings, RunOptions(limit=20), emitter=em2).run() == 0
    assert all(r.occurred_at >= start2 for r in em2.records)  # type: ignore[attr-defined]


def _story_tags(records: list[Any]) -> set[str]:
    """Hashtags of the scripted attack stories (e.g. #KimGate) among the records."""
    endings = {st["tag"].removeprefix("{cand_last}").lower() for st in STORIES}
    tags = {h for r in records for h in getattr(r, "hashtags", [])}
    return {t for t in tags if t.startswith("kim") and t[3:] in endings}


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of this test's own: the partition count below is only ours on a fresh broker."""
    child, url = start_broker(tmp_path)
    yield url
    child.stop()


def test_produces_to_the_embedded_broker(own_broker: str, tmp_path: Path) -> None:
    """End to end on the real (Tansu) broker: topics created, events readable, keys right."""
    from kafka import KafkaConsumer, TopicPartition

    broker_url = own_broker

    settings = load_settings(data_dir=tmp_path, kafka_url=broker_url, topic_partitions=2)
    cfg = DemoSource.Config.load("demo", seed=21, realtime=False, rate=1000.0)
    em_ids: list[str] = []
    runner = Runner(DemoSource, cfg, settings, RunOptions(limit=120))
    assert runner.run() == 0
    assert runner.stats.emitted == 120

    consumer = KafkaConsumer(
        bootstrap_servers=broker_url, enable_auto_commit=False, consumer_timeout_ms=3000
    )
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in (MENTIONS, THREADS, SIGNUPS)
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        assert len(parts) == 6  # created up front with our partition count
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        got: dict[str, bytes] = {}
        for _ in range(20):
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    event = decode(r.topic, r.value)
                    assert r.key == event.key()
                    if event.event_id.startswith("demo:"):
                        got[event.event_id] = r.value
            if len(got) >= 120:
                break
    finally:
        consumer.close()
    em_ids = sorted(got)
    assert len(em_ids) == 120
    assert all(orjson.loads(v)["schema_version"] == 1 for v in got.values())
