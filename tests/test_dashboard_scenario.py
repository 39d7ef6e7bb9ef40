"""A known campaign moment, written into the warehouse for the dashboard tests to read back.

Everything is placed relative to now, so it falls in the pages' windows: an attack on Jordan
Kim in the last minutes (5x normal, 80% negative, driven by #kimscandal), an earlier spike on
Dana Reyes, validators and one cascade, threads and questions, signups with referral codes,
the buzz-to-signup lag, dead letters and source reports. The figures the tests expect are the
constants below, derived by hand from these rows.

Buzz is written the way the worker writes it: raw mentions, one ``mention_scores`` row per
(mention, subject), and ``buzz_minutes`` only for *closed* minutes (two or more minutes ago),
so the newest minute is provisional, as it is live.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from pipeline.scoring.alerts import alert_id

# --- Buzz -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Minute:
    subject: str
    ago: int  # whole minutes before the current one
    mentions: int
    negative: int
    expected: float | None
    spike: bool = False
    attack: bool = False


def buzz_plan() -> list[Minute]:
    plan: list[Minute] = []
    for m in range(6, 46):  # Jordan Kim: two a minute, as usual
        plan.append(Minute("kim", m, 2, 0, 2.0))
    plan.append(Minute("kim", 2, 2, 0, 2.0))
    for m in (3, 4, 5):  # the attack: ten a minute vs two usual, 8 of 10 negative
        plan.append(Minute("kim", m, 10, 8, 2.0, spike=True, attack=True))
    plan.append(Minute("kim", 1, 6, 5, None))  # still being counted: no buzz_minutes row
    for m in range(70, 100):  # the hour before: one a minute
        plan.append(Minute("kim", m, 1, 0, 1.0))
    for m in range(2, 46):
        if m == 40:  # Dana Reyes's spike: 8 against 1 usual, one negative
            plan.append(Minute("reyes", m, 8, 1, 1.0, spike=True))
        else:
            plan.append(Minute("reyes", m, 1, 0, 1.0))
    for m in range(10, 31, 2):  # the Riverline, now and then
        plan.append(Minute("transit", m, 1, 0, 0.5))
    plan.append(Minute("housing", 3 * 24 * 60, 3, 0, None))  # three days ago
    return plan


# Hand-derived figures over that plan.
KIM_1H = 40 * 2 + 2 + 30 + 6  # 118
REYES_1H = 43 + 8  # 51
TRANSIT_1H = 11
MENTIONS_1H = KIM_1H + REYES_1H + TRANSIT_1H  # 180 distinct posts (each about one subject)
MENTIONS_PREVIOUS_HOUR = 30
EXPECTED_STORED = MENTIONS_1H + MENTIONS_PREVIOUS_HOUR + 3 + 6  # every mention, cascade too
KIM_SHARE_1H = KIM_1H / (KIM_1H + REYES_1H)  # 70%
KIM_NEGATIVE_1H = (24 + 5) / KIM_1H  # 25%
ATTACK_SENTENCE = (
    "Attack on Jordan Kim in progress: 5× normal volume, 80% negative, driven by #kimscandal."
)

TEXTS = {
    "kim": ("Jordan Kim at the town hall tonight", ["kimforsenate"]),
    "kim_attack": ("Jordan Kim scandal: the leaked emails are a disgrace", ["kimscandal"]),
    "reyes": ("Dana Reyes ad spotted downtown", ["reyes2026"]),
    "transit": ("Bus lanes on Main St were packed this morning", ["transit"]),
    "housing": ("We need affordable housing near the school", []),
}
MENTION_COLUMNS = [
    "event_id",
    "platform",
    "occurred_at",
    "ingested_at",
    "author_id",
    "author_handle",
    "author_name",
    "author_audience",
    "text",
    "url",
    "lang",
    "likes",
    "reshares",
    "replies",
    "quotes",
    "reshare_of",
    "reply_to",
    "links",
    "hashtags",
    "sunk_at",
]
SCORE_COLUMNS = [
    "event_id",
    "subject",
    "minute",
    "occurred_at",
    "author_id",
    "terms",
    "sentiment",
    "negative",
    "engagement_weight",
    "audience_weight",
    "validator",
    "reshare_of",
    "reply_to",
]
MINUTE_COLUMNS = [
    "subject",
    "subject_kind",
    "minute",
    "mentions",
    "unique_authors",
    "engagement_volume",
    "audience_volume",
    "sentiment_mean",
    "negative_share",
    "share_of_voice",
    "expected",
    "expected_std",
    "anomaly_score",
    "spike",
    "attack",
]
KINDS = {"kim": "candidate", "reyes": "rival", "transit": "issue", "housing": "issue"}


def minute_start(now: datetime, ago: int) -> datetime:
    return now.replace(second=0, microsecond=0) - timedelta(minutes=ago)


def mention_row(
    event_id: str,
    at: datetime,
    author: str,
    text: str,
    tags: list[str],
    audience: int = 1000,
    reshare_of: str | None = None,
    reply_to: str | None = None,
) -> list[Any]:
    return [
        event_id,
        "x",
        at,
        at + timedelta(seconds=1),
        author,
        author,
        author.title(),
        audience,
        text,
        f"https://x.example/{author}/status/{event_id.split(':')[-1]}",
        "en",
        3,
        1,
        1,
        0,
        reshare_of,
        reply_to,
        [],
        tags,
        at + timedelta(seconds=2),
    ]


def seed_buzz(client: Client, now: datetime) -> None:
    mentions: list[list[Any]] = []
    scores: list[list[Any]] = []
    minutes: list[list[Any]] = []
    n = 0
    for plan in buzz_plan():
        start = minute_start(now, plan.ago)
        sentiment_sum = 0.0
        for i in range(plan.mentions):
            n += 1
            negative = i < plan.negative
            key = (
                "kim_attack"
                if plan.attack or (plan.subject == "kim" and negative)
                else plan.subject
            )
            text, tags = TEXTS[key]
            at = start + timedelta(seconds=20)
            event_id = f"x:{n}"
            author = f"{plan.subject}fan{i % 3}"
            mentions.append(mention_row(event_id, at, author, f"{text} ({n})", tags))
            sentiment = -0.6 if negative else 0.3
            sentiment_sum += sentiment
            scores.append(
                [
                    event_id,
                    plan.subject,
                    start,
                    at,
                    author,
                    [],
                    sentiment,
                    int(negative),
                    1.5,
                    4.0,
                    "",
                    None,
                    None,
                ]
            )
        if plan.ago >= 2:  # closed minutes only, as the worker writes them
            z = (plan.mentions - plan.expected) / 1.0 if plan.expected is not None else None
            minutes.append(
                [
                    plan.subject,
                    KINDS[plan.subject],
                    start,
                    plan.mentions,
                    min(plan.mentions, 3),
                    plan.mentions * 1.5,
                    plan.mentions * 4.0,
                    sentiment_sum / plan.mentions,
                    plan.negative / plan.mentions,
                    None,
                    plan.expected,
                    None if plan.expected is None else 1.0,
                    z,
                    int(plan.spike),
                    int(plan.attack),
                ]
            )
    client.insert("buzz.mentions", mentions, column_names=MENTION_COLUMNS)
    # A replay of the first ten, as a restarted source would send: FINAL must absorb it.
    client.insert(
        "buzz.mentions",
        [[*r[:3], r[3] + timedelta(seconds=5), *r[4:]] for r in mentions[:10]],
        column_names=MENTION_COLUMNS,
    )
    client.insert("buzz.mention_scores", scores, column_names=SCORE_COLUMNS)
    client.insert("buzz.buzz_minutes", minutes, column_names=MINUTE_COLUMNS)


# --- Alerts ---------------------------------------------------------------------------------

ALERT_COLUMNS = [
    "alert_id",
    "kind",
    "subject",
    "severity",
    "title",
    "at",
    "explanation",
    "example_urls",
    "revision",
    "last_at",
    "created_at",
]


def _driver(item: str, spike_posts: int, baseline: int = 0) -> dict[str, Any]:
    return {"item": item, "spike_posts": spike_posts, "baseline_posts": baseline, "score": 9.5}


def spike_explanation(
    subject: str,
    minute: datetime,
    mentions: int,
    expected: float,
    negative_share: float,
    attack: bool,
    why: dict[str, Any],
) -> str:
    spike = {
        "subject_id": subject,
        "subject_kind": KINDS[subject],
        "minute": minute.isoformat(),
        "mentions": mentions,
        "expected": expected,
        "z": (mentions - expected),
        "negative_share": negative_share,
        "attack": attack,
    }
    return json.dumps({"spike": spike, "why": why})


ATTACK_WHY = {
    "spike_posts": 30,
    "baseline_posts": 80,
    "terms": [_driver("scandal", 30), _driver("emails", 24, 1)],
    "hashtags": [_driver("kimscandal", 30)],
    "links": [_driver("gossip.example/kim-emails", 12)],
    "authors": [_driver("kimfan0", 10)],
    "examples": [
        {
            "event_id": "x:83",
            "url": "https://x.example/kimfan0/status/83",
            "author": "kimfan0",
            "text": "Jordan Kim scandal: the leaked emails are a disgrace",
            "sentiment": -0.6,
            "engagement_weight": 2.0,
        }
    ],
}
ATTACK_COORDINATED = {
    "posts": 6,
    "accounts": 6,
    "total": 10,
    "share": 0.6,
    "text": "Jordan Kim is a corrupt liar. Resign now! #KimScandal",
    "handles": ["@troll0", "@troll1"],
}
BURST = {
    "burst": {
        "cluster": "x:troll0",
        "posts": 12,
        "accounts": 11,
        "before": 0,
        "text": "Jordan Kim is a corrupt liar. Resign now! #KimScandal",
        "handles": [f"@troll{i}" for i in range(11)],
    },
    "others": [],
    "episode": {"kind": "coordinated", "subject": "kim", "revision": 1},
    "share": {"posts": 6, "accounts": 6, "total": 10, "share": 0.6},
}
REYES_WHY = {
    "spike_posts": 8,
    "baseline_posts": 40,
    "terms": [_driver("debate", 7)],
    "hashtags": [],
    "links": [],
    "authors": [],
    "examples": [],
}


def alert_rows(now: datetime) -> list[list[Any]]:
    rows: list[list[Any]] = []
    # The attack is one episode, as the worker keys it (its first minute), written once per
    # minute it went on: three versions of one alert, the latest with the highest revision.
    first, last = minute_start(now, 5), minute_start(now, 3)
    for revision, ago in enumerate((5, 4, 3), start=1):
        minute = minute_start(now, ago)
        why = spike_explanation("kim", minute, 10, 2.0, 0.8, True, ATTACK_WHY)
        episode = {"kind": "attack", "subject": "kim", "started": first.isoformat(),
                   "last": minute.isoformat(), "minutes": revision, "span_minutes": revision,
                   "peak": 10.0, "revision": revision, "score": 5.7}  # fmt: skip
        explained = {**json.loads(why), "episode": episode, "coordinated": ATTACK_COORDINATED}
        rows.append(
            [
                alert_id("attack", "kim", first.isoformat()), "attack", "kim", "critical",
                "Possible attack on kim: 10 a minute vs 2.0 usual"
                + (f" ({revision} min so far, peak 10)" if revision > 1 else ""),
                first, json.dumps(explained), ["https://x.example/kimfan0/status/83"],
                revision, minute, now - timedelta(seconds=60 * ago),
            ]
        )  # fmt: skip
    assert rows[-1][-2] == last
    rows.append(
        [
            alert_id("coordinated", "kim", minute_start(now, 4).isoformat()), "coordinated",
            "kim", "warning",
            "Coordinated posting about kim: 12 near-identical posts from 11 accounts in 1 min",
            minute_start(now, 4), json.dumps(BURST), ["https://x.example/troll0/status/1"], 1,
            minute_start(now, 4), now - timedelta(minutes=3),
        ]
    )  # fmt: skip
    reyes = minute_start(now, 40)
    rows.append(
        [
            alert_id("spike", "reyes", reyes.isoformat()),
            "spike",
            "reyes",
            "warning",
            "Spike in mentions of reyes: 8 a minute vs 1.0 usual",
            reyes,
            spike_explanation("reyes", reyes, 8, 1.0, 0.125, False, REYES_WHY),
            [],
            1,
            reyes,
            now - timedelta(minutes=39),
        ]
    )
    rows += [
        [
            GOLDEN_ALERT,
            "golden_thread",
            "transit",
            "info",
            "Thread worth joining: 5 real exchanges, quality 0.62",
            now - timedelta(minutes=50),
            json.dumps(
                {
                    "thread_id": "t1",
                    "metrics": {
                        "transactions": 5,
                        "participants": 4,
                        "back_and_forth": 4,
                        "quality": 0.62,
                    },
                }
            ),
            ["https://forum.example/t/1"],
        ],
        [
            alert_id("unanswered_question", "housing", "q2"),
            "unanswered_question",
            "housing",
            "warning",
            "Unanswered question for 120 min: Where does Kim stand on rent control?",
            now - timedelta(minutes=60),
            json.dumps(
                {
                    "thread_id": "t2",
                    "waited_minutes": 120,
                    "question": {"text": "Where does Kim stand on rent control?"},
                }
            ),
            ["https://forum.example/t/2/2"],
        ],
        [
            alert_id("validator_first", "kim", "x:v2"),
            "validator_first",
            "kim",
            "info",
            "First post from validator Ray Okafor (Teamsters Local 27)",
            now - timedelta(minutes=30),
            json.dumps({"validator": "ray-okafor-teamsters-local-27", "post_id": "x:v2"}),
            ["https://x.example/rayokafor27/status/v2"],
        ],
        [
            alert_id("signup_surge", "referral", "h"),
            "signup_surge",
            "referral",
            "info",
            "Signup surge on referral: 6 in a minute vs 0.5 usual",
            now - timedelta(minutes=20),
            json.dumps({"channel": "referral", "signups": 6, "expected": 0.5, "z": 5.5}),
            [],
        ],
    ]
    return [r if len(r) == len(ALERT_COLUMNS) else [*r, 1, r[5], r[5]] for r in rows]


GOLDEN_ALERT = alert_id("golden_thread", "transit", "t1")
ALERTS_TOTAL = 7  # attack, coordinated, Reyes spike, golden thread, question, validator, surge


def seed_alerts(client: Client, now: datetime) -> None:
    client.insert("buzz.alerts", alert_rows(now), column_names=ALERT_COLUMNS)
    # Someone already handled the golden thread.
    client.insert(
        "buzz.alert_actions",
        [[GOLDEN_ALERT, "handled", "sam", "", now - timedelta(minutes=10)]],
        column_names=["alert_id", "action", "actor", "note", "at"],
    )


# --- Validators -----------------------------------------------------------------------------

VALIDATORS = [  # key, name, group, trust, handle
    ("mayor-alicia-torres", "Mayor Alicia Torres", "local officials", 3.0, "mayortorres"),
    (
        "ray-okafor-teamsters-local-27",
        "Ray Okafor (Teamsters Local 27)",
        "unions",
        2.5,
        "rayokafor27",
    ),
    ("pastor-lee-harmon", "Pastor Lee Harmon", "faith leaders", 2.0, "pastorharmon"),
]
REACH_COLUMNS = [
    "root_id",
    "validator",
    "group_name",
    "subject",
    "posted_at",
    "url",
    "posts",
    "direct_audience",
    "cascade_audience",
    "amplifiers",
    "repliers",
    "depth",
    "structural_virality",
    "trust_weight",
    "trust_weighted_reach",
    "taking_off",
]
# Leaderboard over the last hour, best first: (name, posts, trust-weighted reach).
LEADERBOARD_1H = [
    ("Mayor Alicia Torres", 1, 3.0 * 15_000),
    ("Ray Okafor (Teamsters Local 27)", 1, 2.5 * 8_000),
    ("Pastor Lee Harmon", 1, 2.0 * 3_000),
]
NEW_VALIDATORS_1H = ["Ray Okafor (Teamsters Local 27)", "Pastor Lee Harmon"]
CASCADE_ROOT = "x:v1"
# The mayor's post: three reshares, a reshare of a reshare, and a reply (6 posts, 2 hops).
CASCADE = [  # event id, author, audience, reshare_of, reply_to
    ("x:v1", "mayortorres", 12_000, None, None),
    ("x:c1", "amy", 1_000, "x:v1", None),
    ("x:c2", "ben", 800, "x:v1", None),
    ("x:c3", "cal", 700, "x:v1", None),
    ("x:c4", "dee", 500, "x:c2", None),
    ("x:c5", "eve", 50, None, "x:v1"),
]


def seed_validators(client: Client, now: datetime) -> None:
    client.insert(
        "buzz.validators",
        [[k, name, group, trust, ["x"], [handle]] for k, name, group, trust, handle in VALIDATORS],
        column_names=["validator", "name", "group_name", "trust_weight", "platforms", "handles"],
    )
    reach = []
    for (key, _name, group, trust, handle), ago, audience, post in zip(
        VALIDATORS, (20, 30, 40), (15_000, 8_000, 3_000), ("x:v1", "x:v2", "x:v3"), strict=True
    ):
        reach.append(
            [
                post,
                key,
                group,
                "kim",
                now - timedelta(minutes=ago),
                f"https://x.example/{handle}/status/{post[2:]}",
                6,
                audience // 2,
                audience,
                4,
                1,
                2,
                1.8,
                trust,
                trust * audience,
                int(post == "x:v1"),
            ]
        )
    # The mayor also spoke three days ago, so she is not new.
    reach.append(
        [
            "x:v0",
            VALIDATORS[0][0],
            "local officials",
            "kim",
            now - timedelta(days=3),
            "https://x.example/mayortorres/status/v0",
            1,
            12_000,
            12_000,
            0,
            0,
            0,
            0.0,
            3.0,
            36_000.0,
            0,
        ]
    )
    client.insert("buzz.validator_reach", reach, column_names=REACH_COLUMNS)
    at = now - timedelta(minutes=20)
    rows = [
        mention_row(
            eid,
            at + timedelta(seconds=i),
            author,
            "Proud to back Jordan Kim",
            [],
            audience,
            reshare_of,
            reply_to,
        )
        for i, (eid, author, audience, reshare_of, reply_to) in enumerate(CASCADE)
    ]
    client.insert("buzz.mentions", rows, column_names=MENTION_COLUMNS)


# --- Conversations --------------------------------------------------------------------------

THREAD_COLUMNS = [
    "thread_id",
    "thread_title",
    "subject",
    "url",
    "first_post_at",
    "last_post_at",
    "posts",
    "participants",
    "substantive_posts",
    "transactions",
    "back_and_forth",
    "links_added",
    "questions",
    "questions_answered",
    "oldest_open_question_at",
    "low_effort_share",
    "mean_substance",
    "quality",
    "golden",
]
GOLDEN_TITLES = ["Riverline extension: who pays?", "Zoning reform Q&A"]  # most recent first
# The queue, oldest first: (question, asker).
QUESTIONS = [
    ("Where does Kim stand on rent control?", "renter22"),
    ("Will the Riverline reach Northside?", "commuter9"),
]


def seed_conversations(client: Client, now: datetime) -> None:
    h = timedelta(hours=1)
    threads = [
        [
            "t1",
            GOLDEN_TITLES[0],
            "transit",
            "https://forum.example/t/1",
            now - 3 * h,
            now - timedelta(minutes=5),
            12,
            5,
            9,
            5,
            4,
            3,
            2,
            2,
            None,
            0.1,
            0.55,
            0.62,
            1,
        ],
        [
            "t3",
            GOLDEN_TITLES[1],
            "housing",
            "https://forum.example/t/3",
            now - 5 * h,
            now - timedelta(minutes=25),
            9,
            4,
            7,
            3,
            3,
            1,
            1,
            1,
            None,
            0.1,
            0.5,
            0.55,
            1,
        ],
        [
            "t2",
            "Ask the campaign",
            "housing",
            "https://forum.example/t/2",
            now - 4 * h,
            now - timedelta(minutes=30),
            4,
            3,
            2,
            0,
            1,
            0,
            3,
            1,
            now - 3 * h,
            0.5,
            0.3,
            0.2,
            0,
        ],
    ]
    client.insert("buzz.thread_scores", threads, column_names=THREAD_COLUMNS)
    posts = [  # thread, post, parent, author, text, minutes ago, question, substantive
        ("t2", "1", None, "host", "Ask us anything about the campaign", 240, 0, 1),
        ("t2", "2", "1", QUESTIONS[0][1], QUESTIONS[0][0], 180, 1, 1),
        ("t2", "3", "1", QUESTIONS[1][1], QUESTIONS[1][0], 90, 1, 1),
        ("t2", "4", "1", "curious", "What about the school budget?", 60, 1, 1),
        (
            "t2",
            "5",
            "4",
            "host",
            "The budget adds 3% for schools, see https://kim.example/b",
            50,
            0,
            1,
        ),
    ]
    client.insert(
        "buzz.thread_posts",
        [
            [
                f"forum:{t}:{p}",
                "discourse",
                now - timedelta(minutes=ago),
                now,
                t,
                p,
                parent,
                "Ask the campaign",
                author,
                author,
                author,
                0,
                text,
                [],
                f"https://forum.example/t/{t[1:]}/{p}",
            ]
            for t, p, parent, author, text, ago, _q, _s in posts
        ],
        column_names=[
            "event_id",
            "platform",
            "occurred_at",
            "ingested_at",
            "thread_id",
            "post_id",
            "parent_id",
            "thread_title",
            "author_id",
            "author_handle",
            "author_name",
            "author_audience",
            "text",
            "links",
            "url",
        ],
    )
    client.insert(
        "buzz.thread_post_scores",
        [
            [
                t,
                p,
                f"forum:{t}:{p}",
                now - timedelta(minutes=ago),
                author,
                0.6 if s else 0.1,
                s,
                0,
                q,
                "{}",
            ]
            for t, p, _parent, author, _text, ago, q, s in posts
        ],
        column_names=[
            "thread_id",
            "post_id",
            "event_id",
            "occurred_at",
            "author_id",
            "substance",
            "substantive",
            "low_effort",
            "is_question",
            "features",
        ],
    )


# --- Signups --------------------------------------------------------------------------------

SIGNUP_COLUMNS = [
    "event_id",
    "platform",
    "occurred_at",
    "ingested_at",
    "channel",
    "form",
    "referral_code",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "country",
    "region",
    "postal_prefix",
]
# (channel, referral code, attributed kind, target) per signup in the last hour.
SIGNUPS = [
    *[("referral", "MAYORTORRES", "validator", "mayor-alicia-torres")] * 3,
    ("referral", "RAYOKAFOR27", "validator", "ray-okafor-teamsters-local-27"),
    *[("web", "", "thread", "t1")] * 2,
    ("web", "", "mention", "x:c1"),
    *[("web", "", "channel", "web")] * 2,
    *[("event", "", "channel", "event")] * 2,
]
SIGNUPS_1H = len(SIGNUPS)  # 11
BEST_LAG_HOURS, BEST_R = 3, 0.62


def seed_signups(client: Client, now: datetime) -> None:
    rows, attribution = [], []
    for i, (channel, code, kind, target) in enumerate(SIGNUPS):
        at = now - timedelta(minutes=5 + 4 * i)
        rows.append(
            [
                f"form:{i}",
                "forms",
                at,
                at,
                channel,
                "volunteer",
                code,
                "",
                "",
                "",
                "",
                "",
                "US",
                "CA",
                "9410",
            ]
        )
        via = "referral_code" if code else ("utm_content" if kind != "channel" else "channel")
        attribution.append([f"form:{i}", at, channel, "volunteer", kind, target, via])
    client.insert("buzz.signups", rows, column_names=SIGNUP_COLUMNS)
    client.insert(
        "buzz.signup_attribution",
        attribution,
        column_names=["event_id", "occurred_at", "channel", "form", "kind", "target_id", "via"],
    )
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=14)
    lag = [
        [
            "all",
            h,
            BEST_R
            if h == BEST_LAG_HOURS
            else round(0.5 - abs(h - 3) * 0.04, 2)
            if h < 12
            else None,
            300,
            start,
            start + timedelta(days=14),
        ]
        for h in range(25)
    ]
    client.insert(
        "buzz.buzz_signup_lag",
        lag,
        column_names=["subject", "lag_hours", "r", "pairs", "window_start", "window_end"],
    )


# --- Health ---------------------------------------------------------------------------------

DEAD_REASONS = [
    "invalid JSON: Expecting value: line 1 column 1 (char 0)",
    "missing field occurred_at",
]
# Migration 0006 (the lead's) as the issue specifies it; tests create it where it is missing.
SOURCE_ERROR = "HTTP 503 from https://northsidedaily.example/feed"


def seed_health(client: Client, now: datetime) -> None:
    client.insert(
        "buzz.dead_letters",
        [
            [
                "dl:buzz.mentions:2:17",
                "buzz.mentions",
                2,
                17,
                "",
                DEAD_REASONS[0],
                "{not json",
                now - timedelta(minutes=10),
            ],
            [
                "dl:x:9f2c",
                "",
                -1,
                -1,
                "x",
                DEAD_REASONS[1],
                '{"id": "17"}',
                now - timedelta(minutes=3),
            ],
        ],
        column_names=[
            "event_id",
            "source_topic",
            "partition",
            "offset",
            "source",
            "reason",
            "payload",
            "received_at",
        ],
    )


def seed_source_status(client: Client, now: datetime) -> None:
    client.insert(
        "buzz.source_status",
        [
            [
                "demo",
                "demo-1",
                "running",
                now - timedelta(seconds=5),
                now - timedelta(hours=1),
                900,
                0,
                now - timedelta(seconds=5),
                None,
                "",
            ],
            [
                "rss",
                "northside",
                "error",
                now - timedelta(minutes=2),
                now - timedelta(hours=1),
                40,
                1,
                now - timedelta(minutes=30),
                now - timedelta(minutes=2),
                SOURCE_ERROR,
            ],
        ],
        column_names=[
            "source",
            "instance",
            "status",
            "updated_at",
            "started_at",
            "events_total",
            "dead_letters_total",
            "last_success_at",
            "last_error_at",
            "last_error",
        ],
    )


TABLES = [
    "mentions",
    "mention_scores",
    "buzz_minutes",
    "alerts",
    "alert_actions",
    "validators",
    "validator_reach",
    "thread_scores",
    "thread_posts",
    "thread_post_scores",
    "signups",
    "signup_attribution",
    "buzz_signup_lag",
    "dead_letters",
    "source_status",
]


def restore_source_status(client: Client) -> None:
    """Re-create buzz.source_status from its migration, after a test dropped it."""
    from pipeline.warehouse.migrate import available_migrations

    (mig,) = [m for m in available_migrations() if m.name.endswith("_source_status.sql")]
    for statement in mig.statements():
        client.command(statement)


def empty_warehouse(client: Client) -> None:
    restore_source_status(client)
    for table in TABLES:
        client.command(f"TRUNCATE TABLE IF EXISTS buzz.{table}")


def seed_warehouse(client: Client, now: datetime | None = None) -> None:
    """Replace the warehouse's contents with the scenario above."""
    now = now or datetime.now(UTC)
    empty_warehouse(client)
    seed_buzz(client, now)
    seed_alerts(client, now)
    seed_validators(client, now)
    seed_conversations(client, now)
    seed_signups(client, now)
    seed_health(client, now)
    seed_source_status(client, now)


# --- Broker ---------------------------------------------------------------------------------

PRODUCED, COMMITTED = 6, 2


def worker_behind(bootstrap: str) -> None:
    """Put PRODUCED messages on partition 0 of buzz.mentions and commit COMMITTED of them for
    the worker's group, as a worker that fell behind would leave them."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    from pipeline.topics import ensure_topics

    ensure_topics(bootstrap, 2)
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(PRODUCED):
        # One send and flush each: the embedded broker counts a batch as one offset.
        producer.send("buzz.mentions", f"m{i}".encode(), partition=0)
        producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="buzz-stream",
                             enable_auto_commit=False)  # fmt: skip
    consumer.commit({TopicPartition("buzz.mentions", 0): OffsetAndMetadata(COMMITTED, "", -1)})
    consumer.close()
