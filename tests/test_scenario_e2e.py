"""The scores end to end on the real embedded stack: broker -> worker agents -> warehouse.

One scripted scenario on a broker and warehouse of its own (no other test's traffic can move the
baselines): forty minutes of ordinary talk and signups in the past, then an attack (a negative
burst on the candidate, twelve accounts pasting one text: also a coordinated burst), a validator
cascade four reshares deep, a golden thread, a question left unanswered for two hours and a signup
surge. Pins: the warehouse holds the expected alerts (one per kind, the attack's explanation
saying how much of it was the coordinated text) and scores equal to what the pure scorers
compute on the same events; after the worker is stopped and a new one started, replaying the
whole input changes no count and adds no alert (nor an update of one).
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from pipeline.campaign import load_campaign
from pipeline.events import Author, Mention, Signup, ThreadPost, Utm
from pipeline.scoring.baseline import floor_minute
from pipeline.scoring.buzz import audience_weight, engagement_weight
from pipeline.scoring.conversation import is_golden_thread, thread_metrics
from pipeline.scoring.sentiment import NEGATIVE_BELOW, sentiment
from pipeline.scoring.signups import floor_hour, lagged_correlation
from pipeline.scoring.subjects import compile_subjects, subject_ids
from pipeline.scoring.validator_reach import build_cascade, cascade_reach, taking_off
from pipeline.topics import MENTIONS, SIGNUPS, THREADS, ensure_topics
from pipeline.warehouse.client import get_client
from pipeline.warehouse.migrate import apply_migrations
from tests.conftest import (
    Child,
    buzz_cmd,
    clean_env,
    free_port,
    start_broker,
    start_warehouse,
    wait_for,
)

pytestmark = pytest.mark.stack

NOW = datetime.now(UTC)
ATTACK = floor_minute(NOW) - timedelta(minutes=5)  # closes one minute plus lateness after it ends
RUN = uuid.uuid4().hex[:8]
CAMPAIGN = load_campaign()


def _author(name: str, audience: int = 100, platform: str = "x") -> Author:
    return Author(id=f"{platform}:{name}", handle=name, audience=audience)


def _mention(n: str, at: datetime, author: Author, text: str, **kw: Any) -> Mention:
    return Mention(
        event_id=f"x:{RUN}-{n}", platform="x", occurred_at=at, author=author, text=text,
        url=f"https://x.example/{RUN}/{n}", **kw,
    )  # fmt: skip


def ordinary_talk() -> list[Mention]:
    """Two neutral mentions of the candidate a minute for the forty minutes before the attack."""
    out = []
    for k in range(40, 0, -1):
        at = ATTACK - timedelta(minutes=k) + timedelta(seconds=10)
        for j in range(2):
            out.append(_mention(f"base{k}-{j}", at, _author(f"reader{k}_{j}"),
                                f"Jordan Kim spoke at the library meeting {k}"))  # fmt: skip
    return out


ATTACK_TEXT = "Jordan Kim is a corrupt liar. Disgraceful scandal, resign now! #KimScandal"


def attack() -> list[Mention]:
    return [
        _mention(f"attack{i}", ATTACK + timedelta(seconds=3 * i), _author(f"troll{i}"),
                 f"{ATTACK_TEXT} https://smear.example/story?i={i}", hashtags=["kimscandal"])
        for i in range(12)
    ]  # fmt: skip


def cascade() -> list[Mention]:
    """Mayor Torres on the Riverline, reshared by 16 people over four levels (not about Kim)."""
    t0 = ATTACK - timedelta(minutes=20)
    text = "The Riverline extension is the best transit news this city has had in years"
    root = _mention("torres", t0, _author("mayortorres", 1000), text)
    out, parents = [root], [root]
    for level, count in enumerate((6, 5, 3, 2), start=1):
        layer = []
        for i in range(count):
            parent = parents[i % len(parents)]
            m = _mention(
                f"rs{level}-{i}",
                t0 + timedelta(minutes=level, seconds=i),
                _author(f"fan{level}_{i}", 500),
                text,
                reshare_of=parent.event_id,
            )
            layer.append(m)
        out += layer
        parents = layer
    return out


def _post(thread: str, pid: str, who: str, text: str, at: datetime, parent: str | None = None,
          title: str = "") -> ThreadPost:  # fmt: skip
    return ThreadPost(
        event_id=f"forum:{RUN}-{pid}", platform="forum", occurred_at=at,
        thread_id=f"{RUN}-{thread}", post_id=f"{RUN}-{pid}",
        parent_id=f"{RUN}-{parent}" if parent else None, thread_title=title,
        author=_author(who, 0, "forum"), text=text, url=f"https://forum.example/{RUN}/{pid}",
    )  # fmt: skip


def golden_thread() -> list[ThreadPost]:
    t = ATTACK - timedelta(minutes=10)
    title = "Jordan Kim's rent plan"
    q = "What is Jordan Kim's plan for rent? Does it cap increases, and by how much?"
    a = ("According to the housing plan, rents would be capped at 3% a year because costs rose "
         "40% since 2019, see https://kim.example/housing")  # fmt: skip
    b = ("I disagree, because a cap without new supply means fewer homes; for example Riverside "
         "saw 12% fewer permits. What about zoning?")  # fmt: skip
    c = ("Yes, the plan also changes zoning near the Riverline, which means 4,000 more homes "
         "according to the city: https://city.example/zoning")  # fmt: skip
    d = ("But how will that be funded? The 2025 budget had $40M for housing, however that "
         "was already spent on the shelters.")  # fmt: skip
    e = ("The plan funds it from the Riverline land sales, about $25M a year according to the "
         "council's estimate: https://city.example/land-sales")  # fmt: skip
    return [
        _post("golden", "g1", "ana", q, t, title=title),
        _post("golden", "g2", "ben", a, t + timedelta(minutes=1), "g1", title),
        _post("golden", "g3", "ana", b, t + timedelta(minutes=2), "g2", title),
        _post("golden", "g4", "ben", c, t + timedelta(minutes=3), "g3", title),
        _post("golden", "g5", "ana", d, t + timedelta(minutes=4), "g4", title),
        _post("golden", "g6", "cat", "Great post!", t + timedelta(minutes=5), "g1", title),
        _post("golden", "g7", "ben", e, t + timedelta(minutes=6), "g5", title),
    ]


def unanswered() -> list[ThreadPost]:
    asked = NOW - timedelta(hours=2)
    q = "Where can I find out where Jordan Kim stands on bus lanes in the Eastside?"
    return [
        _post("open", "q1", "dee", q, asked, title="Bus lanes question"),
        _post("open", "q2", "eli", "Go JK!", asked + timedelta(minutes=5), "q1"),
    ]


def signups() -> list[Signup]:
    out = []

    def su(n: str, at: datetime, **kw: Any) -> Signup:
        return Signup(event_id=f"forms:{RUN}-{n}", platform="forms", occurred_at=at, **kw)

    for k in range(40, 0, -1):  # one referral signup a minute
        out.append(su(f"base{k}", ATTACK - timedelta(minutes=k, seconds=-20), channel="referral",
                      referral_code="VOL-1234"))  # fmt: skip
    for i in range(10):  # the surge, driven by the mayor's referral code
        out.append(su(f"surge{i}", ATTACK + timedelta(seconds=5 * i), channel="referral",
                      referral_code="MAYORTORRES"))  # fmt: skip
    out.append(su("thread", ATTACK - timedelta(minutes=3), channel="web",
                  utm=Utm(source="forum", content=f"{RUN}-golden")))  # fmt: skip
    return out


def _healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return bool(r.status == 200)


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.warehouse, self.url = start_warehouse(tmp)
        self.broker, self.bootstrap = start_broker(tmp)
        apply_migrations(get_client(url=self.url))
        ensure_topics(self.bootstrap, 4)
        self.worker: Child | None = None

    def start_worker(self, name: str) -> Child:
        port = free_port()
        env = clean_env(
            BUZZ_KAFKA_URL=self.bootstrap, BUZZ_CLICKHOUSE_URL=self.url,
            BUZZ_WORKER_WEB_PORT=str(port), BUZZ_SINK_BATCH_SECONDS="0.3",
            BUZZ_DATA_DIR=str(self.tmp),
        )  # fmt: skip
        self.worker = Child(buzz_cmd("worker"), self.tmp / f"{name}.log", env)
        wait_for(lambda: _healthy(port), "buzz worker", self.worker, timeout=60)
        return self.worker

    def send(self, topic: str, events: list[Any]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        for e in events:
            producer.send(topic, key=e.key(), value=e.to_json())
        producer.flush()
        producer.close()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in get_client(url=self.url).query(sql).result_rows]

    def stop(self) -> None:
        for child in (self.worker, self.broker, self.warehouse):
            if child is not None:
                child.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("scenario"))
    try:
        yield s
    finally:
        s.stop()


def send_all(s: Stack) -> None:
    s.send(MENTIONS, [*ordinary_talk(), *attack(), *cascade()])
    s.send(THREADS, [*golden_thread(), *unanswered()])
    s.send(SIGNUPS, signups())


ALERTS = "SELECT kind, subject, count() FROM buzz.alerts FINAL GROUP BY kind, subject ORDER BY kind"
WANT_ALERTS = [
    ("attack", "kim", 1),
    ("cascade", "transit", 1),
    ("coordinated", "kim", 1),
    ("golden_thread", "kim", 1),
    ("signup_surge", "referral", 1),
    ("unanswered_question", "kim", 1),
    ("validator_first", "transit", 1),
]


def wait_alerts(s: Stack, timeout: float = 45) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout
    got: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        got = s.rows(ALERTS)
        if len(got) >= len(WANT_ALERTS):
            break
        time.sleep(0.5)
    return got


def snapshot(s: Stack) -> dict[str, Any]:
    """Every count the scenario pins, read with FINAL (what analysts and the dashboard see)."""
    q = {
        "alerts": ALERTS,
        "alert_ids": "SELECT alert_id FROM buzz.alerts FINAL ORDER BY alert_id",
        "alert_rows": "SELECT count() FROM buzz.alerts",
        "mentions": "SELECT count() FROM buzz.mentions FINAL",
        "mention_scores": "SELECT subject, count() FROM buzz.mention_scores FINAL GROUP BY subject"
        " ORDER BY subject",
        "kim_minutes": "SELECT minute, mentions, unique_authors, round(engagement_volume, 6),"
        " round(audience_volume, 6), round(sentiment_mean, 6), negative_share, share_of_voice,"
        " expected, anomaly_score, spike, attack FROM buzz.buzz_minutes FINAL"
        " WHERE subject = 'kim' ORDER BY minute",
        "reach": "SELECT root_id, validator, posts, direct_audience, cascade_audience, amplifiers,"
        " depth, round(structural_virality, 6), trust_weighted_reach, taking_off"
        " FROM buzz.validator_reach FINAL",
        "threads": "SELECT thread_id, posts, transactions, round(quality, 6), golden"
        " FROM buzz.thread_scores FINAL ORDER BY thread_id",
        "post_scores": "SELECT count() FROM buzz.thread_post_scores FINAL",
        "signups": "SELECT count() FROM buzz.signups FINAL",
        "attribution": "SELECT kind, target_id, count() FROM buzz.signup_attribution FINAL"
        " GROUP BY kind, target_id ORDER BY kind, target_id",
        "signup_minutes": "SELECT channel, minute, signups, surge FROM buzz.signup_minutes FINAL"
        " ORDER BY channel, minute",
    }
    return {k: s.rows(sql) for k, sql in q.items()}


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def expected_kim_minutes() -> dict[datetime, tuple[Any, ...]]:
    """Per minute: mentions, authors, engagement and audience volume, mean tone, negative share,
    computed here from the events with the scorers the worker uses (each event once)."""
    matcher = compile_subjects(CAMPAIGN.subjects)
    minutes: dict[datetime, dict[str, Mention]] = {}
    for m in [*ordinary_talk(), *attack()]:
        if "kim" in subject_ids(matcher, m.text, m.hashtags):
            minutes.setdefault(floor_minute(m.occurred_at), {})[m.event_id] = m
    out = {}
    for minute, by_id in minutes.items():
        posts = list(by_id.values())
        tones = [sentiment(m.text) for m in posts]
        out[minute] = (
            len(posts),
            len({m.author.id for m in posts}),
            round(sum(engagement_weight(m) for m in posts), 6),
            round(sum(audience_weight(m) for m in posts), 6),
            sum(tones) / len(posts),
            sum(t <= NEGATIVE_BELOW for t in tones) / len(posts),
        )
    return out


def check_scores(snap: dict[str, Any]) -> None:
    want = expected_kim_minutes()
    got = {row[0].replace(tzinfo=UTC): row for row in snap["kim_minutes"]}
    assert set(got) == set(want)
    for minute, w in want.items():
        g = got[minute]
        assert g[1:5] == w[:4]
        assert g[5] == pytest.approx(w[4], abs=1e-6)
        assert g[6] == pytest.approx(w[5])
        assert g[7] == pytest.approx(1.0)  # nobody talked about the rival
    attack_row = got[ATTACK]
    # 40 minutes of exactly 2: mean 2, spread floored at sqrt(2), so z = (12 - 2) / sqrt(2).
    assert attack_row[8] == pytest.approx(2.0)
    assert attack_row[9] == pytest.approx(10 / 2**0.5)
    assert attack_row[10:] == (1, 1)
    assert sum(r[10] for r in snap["kim_minutes"]) == 1

    mentions = cascade()
    c = build_cascade(mentions[0], mentions[1:])
    reach = cascade_reach(c, CAMPAIGN.validators[0])
    assert taking_off(c)
    assert snap["reach"] == [
        (mentions[0].event_id, "mayor-alicia-torres", 17, 1000, 9000, 16, 4,
         round(reach.structural_virality, 6), 27000.0, 1)
    ]  # fmt: skip
    assert reach.cascade_audience == 9000 and reach.depth == 4

    golden = thread_metrics(golden_thread())
    t = CAMPAIGN.thresholds
    assert is_golden_thread(
        golden,
        min_quality=t.golden_min_quality,
        min_transactions=t.golden_min_transactions,
        min_back_and_forth=t.golden_min_back_and_forth,
    )
    assert snap["threads"] == [
        (f"{RUN}-golden", 7, golden.transactions, round(golden.quality, 6), 1),
        (f"{RUN}-open", 2, 0, round(thread_metrics(unanswered()).quality, 6), 0),
    ]
    assert snap["post_scores"] == [(9,)]  # 7 posts in the golden thread, 2 in the open one
    assert snap["attribution"] == [
        ("channel", "referral", 40),
        ("thread", f"{RUN}-golden", 1),
        ("validator", "mayor-alicia-torres", 10),
    ]
    surge = [r for r in snap["signup_minutes"] if r[3]]
    assert [(r[0], r[1].replace(tzinfo=UTC), r[2]) for r in surge] == [("referral", ATTACK, 10)]


def check_attack_alerts(s: Stack) -> None:
    """The attack says how much of it was one text pasted by many; the burst is its own alert."""
    rows = s.rows(
        "SELECT kind, title, revision, explanation FROM buzz.alerts FINAL"
        " WHERE kind IN ('attack', 'coordinated') ORDER BY kind"
    )
    (_, attack_title, attack_rev, attack_why), (_, title, rev, why) = rows
    assert attack_title.startswith("Possible attack on Jordan Kim: 12 a minute vs 2.0 usual")
    share = json.loads(attack_why)["coordinated"]
    assert (share["posts"], share["accounts"], share["total"], share["share"]) == (12, 12, 12, 1.0)
    assert share["text"].startswith(ATTACK_TEXT)
    assert title == (
        "Coordinated posting about Jordan Kim: 12 near-identical posts from 12 accounts in 1 min"
    )
    burst = json.loads(why)["burst"]
    assert burst["handles"][:2] == ["@troll0", "@troll1"] and burst["before"] == 0
    assert (attack_rev, rev) == (1, 1)


def check_lag(s: Stack) -> None:
    """The lag table holds lags 0..24 for all subjects, equal to the pure function's numbers."""
    sql = "SELECT lag_hours, r, pairs FROM buzz.buzz_signup_lag FINAL WHERE subject = 'all'"
    deadline = time.monotonic() + 30  # the lag timer runs every 15 s
    while time.monotonic() < deadline and len(s.rows(sql)) < 25:
        time.sleep(1)
    got = sorted(s.rows(sql))
    posts = {m.event_id: m for m in [*ordinary_talk(), *attack(), *cascade()]}
    buzz = Counter(floor_hour(m.occurred_at) for m in posts.values())
    ups = Counter(floor_hour(x.occurred_at) for x in signups())
    want = lagged_correlation(buzz, ups)
    assert [(g[0], g[2]) for g in got] == [(w.lag_hours, w.pairs) for w in want]
    for g, w in zip(got, want, strict=True):
        assert (g[1] is None) == (w.r is None) and (w.r is None or g[1] == pytest.approx(w.r))


def test_scenario_scores_and_alerts_survive_restart_and_replay(stack: Stack) -> None:
    assert all(sentiment(m.text) <= -0.05 for m in attack())
    worker = stack.start_worker("worker-1")
    send_all(stack)
    alerts = wait_alerts(stack)
    assert alerts == WANT_ALERTS, worker.log_tail(60)
    time.sleep(3)  # let the passes after the alerts finish (nothing more should change)
    first = snapshot(stack)
    assert first["mentions"] == [(80 + 12 + 17,)]
    assert first["signups"] == [(51,)]
    check_scores(first)
    check_attack_alerts(stack)
    check_lag(stack)

    # Stop, start a new worker (state comes back from the warehouse), replay everything.
    worker.stop()
    worker = stack.start_worker("worker-2")
    send_all(stack)
    sentinel = _post("sentinel", "s1", "zed", "Is anyone there? What about rent?", NOW)
    stack.send(THREADS, [sentinel])
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and stack.rows(
        "SELECT count() FROM buzz.thread_scores FINAL WHERE thread_id LIKE '%sentinel'"
    ) != [(1,)]:
        time.sleep(0.5)
    time.sleep(4)  # two minute-closing passes and a cascade pass after the replay was read
    again = snapshot(stack)
    again["threads"] = [r for r in again["threads"] if not r[0].endswith("sentinel")]
    again["post_scores"] = [(again["post_scores"][0][0] - 1,)]
    assert again == first, worker.log_tail(60)
