"""docs/warehouse.md is true: its schema matches the live warehouse and its queries answer.

Every ```sql block of the document is extracted and run against an embedded warehouse holding a
small campaign scenario with known numbers (written below into the raw and score tables, relative
to the warehouse's own ``today()`` so "yesterday" and "this week" mean what they say), as the
read-only ``analyst`` user. Each block is preceded by ``<!-- example: ID -->``; ``EXPECTED`` pins
the rows of each example (exactly for the questions the issue names, a prefix or a shape for the
rest), and a block without an entry fails the test, so a new example cannot go unchecked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from pipeline.warehouse import schema_doc
from pipeline.warehouse.client import get_client
from tests.conftest import buzz_cmd, clean_env

pytestmark = pytest.mark.timeout(240)

EXAMPLE = re.compile(r"<!-- example: ([a-z0-9_]+) -->\s*```sql\n(.*?)```", re.S)
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
CAND, RIVAL, ISSUE = "alex-rivera", "sam-chen", "transit"


def doc_text() -> str:
    return schema_doc.DOC.read_text("utf-8")


# The scenario ------------------------------------------------------------------------------
def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.UTC)


def insert(c: Client, table: str, rows: list[dict[str, Any]]) -> None:
    names = list(rows[0])
    c.insert(f"buzz.{table}", [[r[n] for n in names] for r in rows], column_names=names)


def fill_scenario(c: Client) -> dt.date:
    today = c.query("SELECT today()").result_rows[0][0]
    y, d2 = today - dt.timedelta(days=1), today - dt.timedelta(days=2)
    old = today - dt.timedelta(days=10)

    def minute(subject: str, kind: str, when: dt.datetime, n: int, **kw: Any) -> dict[str, Any]:
        row = {"subject": subject, "subject_kind": kind, "minute": when, "mentions": n,
               "unique_authors": n, "engagement_volume": float(n), "audience_volume": float(n),
               "sentiment_mean": 0.1, "negative_share": 0.2, "share_of_voice": None,
               "expected": 2.0, "expected_std": 1.0, "anomaly_score": 0.5, "spike": 0,
               "attack": 0}  # fmt: skip
        return row | kw

    spike = {"spike": 1, "sentiment_mean": -0.6, "negative_share": 0.8}
    insert(c, "buzz_minutes", [
        minute(CAND, "candidate", at(y, 13), 10),
        minute(CAND, "candidate", at(y, 14), 60, anomaly_score=29.0, attack=1, **spike),
        minute(CAND, "candidate", at(y, 14, 1), 30, anomaly_score=14.0, attack=1, **spike),
        minute(RIVAL, "rival", at(y, 13), 20),
        minute(RIVAL, "rival", at(y, 14), 5),
        minute(ISSUE, "issue", at(y, 14), 7),
        minute(CAND, "candidate", at(d2, 13), 25),
        minute(RIVAL, "rival", at(d2, 13), 75),
    ])  # fmt: skip
    why = {
        "spike_posts": 90, "baseline_posts": 10,
        "terms": [{"item": "scandal", "spike_posts": 50, "baseline_posts": 0, "score": 9.1},
                  {"item": "leaked", "spike_posts": 30, "baseline_posts": 1, "score": 6.0}],
        "hashtags": [{"item": "riveragate", "spike_posts": 40, "baseline_posts": 0, "score": 8.0}],
        "links": [{"item": "https://gossip.example/story", "spike_posts": 45, "baseline_posts": 0,
                   "score": 8.5}],
        "authors": [{"item": "@troll1", "spike_posts": 12, "baseline_posts": 0, "score": 5.0}],
        "examples": [],
    }  # fmt: skip
    insert(c, "alerts", [{
        "alert_id": "alert:attack:0001", "kind": "attack", "subject": CAND,
        "severity": "critical", "title": f"Possible attack on {CAND}: 60 a minute vs 2.0 usual",
        "at": at(y, 14), "explanation": json.dumps({"spike": {}, "why": why}),
        "example_urls": ["https://x.example/p/1", "https://x.example/p/2"],
    }])  # fmt: skip

    # Its delivery: sent to Slack on the second attempt, cut off mid-send on the SMS relay.
    def step(route: str, status: str, attempt: int, minute: int, error: str = "") -> dict[str, Any]:
        return {"alert_id": "alert:attack:0001", "route": route, "channel": "webhook",
                "kind": "attack", "severity": "critical", "mode": "now", "status": status,
                "attempt": attempt, "digest_id": "", "error": error, "next_attempt_at": None,
                "alert_created_at": at(y, 14, 2), "worker": "w:1",
                "at": at(y, 14, minute)}  # fmt: skip

    insert(c, "alert_deliveries", [
        step("press-slack", "queued", 0, 2), step("press-slack", "sending", 1, 3),
        step("press-slack", "failed", 1, 4, "HTTP 503: maintenance"),
        step("press-slack", "sending", 2, 5), step("press-slack", "sent", 2, 6),
        step("sms-relay", "queued", 0, 2), step("sms-relay", "sending", 1, 3),
        step("sms-relay", "unknown", 1, 7, "the worker stopped after sending began"),
    ])  # fmt: skip

    # The posts of the spike and their scores.
    posts = [
        ("x:1", "@troll1", 90_000, 900, 400, ["scandal", "leaked"], -0.8, None),
        ("x:2", "@gossipdesk", 40_000, 300, 150, ["scandal"], -0.7, None),
        ("x:3", "@troll2", 100, 5, 2, ["scandal", "leaked"], -0.6, None),
        ("x:4", "@fan", 50, 1, 0, ["scandal"], 0.3, "x:1"),
        ("x:5", "@voter", 20, 0, 0, [], 0.1, None),
    ]
    mentions, scores = [], []
    for i, (eid, handle, audience, likes, reshares, terms, sentiment, reshare_of) in enumerate(
        posts
    ):
        when = at(y, 14, i % 2)
        mentions.append({
            "event_id": eid, "platform": "x", "occurred_at": when, "ingested_at": when,
            "author_id": handle, "author_handle": handle, "author_name": handle,
            "author_audience": audience, "text": f"post {eid} " + " ".join(terms),
            "url": f"https://x.example/p/{eid[2:]}", "likes": likes, "reshares": reshares,
            "reshare_of": reshare_of,
        })  # fmt: skip
        scores.append({
            "event_id": eid, "subject": CAND, "minute": when, "occurred_at": when,
            "author_id": handle, "terms": terms, "sentiment": sentiment,
            "negative": int(sentiment <= -0.05), "engagement_weight": 1.0, "validator": "",
            "reshare_of": reshare_of,
        })  # fmt: skip
    mentions.append({**mentions[4], "event_id": "m:1", "platform": "mastodon",
                     "url": "https://m.example/1"})  # fmt: skip
    scores.append(scores[4] | {"event_id": "m:1", "subject": RIVAL, "author_id": "@voter"})
    insert(c, "mentions", mentions)
    # A replay of x:1 seen later with more likes, in its own insert (as the sink would send it).
    insert(c, "mentions", [mentions[0] | {"ingested_at": at(y, 15), "likes": 950}])
    insert(c, "mention_scores", scores)

    insert(c, "validators", [
        {"validator": "mayor-alicia-torres", "name": "Mayor Alicia Torres",
         "group_name": "local officials", "trust_weight": 9.0},
        {"validator": "omar-haddad", "name": "Omar Haddad", "group_name": "unions",
         "trust_weight": 7.0},
        {"validator": "kim-lee", "name": "Kim Lee", "group_name": "bloggers", "trust_weight": 4.0},
    ])  # fmt: skip

    def reach(root: str, who: str, group: str, when: dt.datetime, audience: int, trust: float,
              amplifiers: int) -> dict[str, Any]:  # fmt: skip
        return {"root_id": root, "validator": who, "group_name": group, "subject": CAND,
                "posted_at": when, "url": f"https://x.example/p/{root}", "posts": amplifiers + 1,
                "direct_audience": audience // 2, "cascade_audience": audience,
                "amplifiers": amplifiers, "repliers": 1, "depth": 2, "structural_virality": 1.5,
                "trust_weight": trust, "trust_weighted_reach": trust * audience,
                "taking_off": 0}  # fmt: skip

    insert(c, "validator_reach", [
        reach("v1", "mayor-alicia-torres", "local officials", at(y, 10), 50_000, 9.0, 40),
        reach("v2", "omar-haddad", "unions", at(d2, 9), 20_000, 7.0, 12),
        reach("v3", "kim-lee", "bloggers", at(y, 8), 100_000, 4.0, 30),
        reach("v4", "kim-lee", "bloggers", at(d2, 8), 30_000, 4.0, 5),
        reach("v0", "omar-haddad", "unions", at(old, 9), 900_000, 7.0, 300),  # not this week
    ])  # fmt: skip

    signups, attribution = [], []

    # Places (first three characters of the postal prefix): Cleveland 441 gets the mayor's
    # seven, Columbus 432 five, Cincinnati 452 only two (so it is never named).
    def signup(eid: str, when: dt.datetime, channel: str, code: str = "", campaign: str = "",
               kind: str | None = None, target: str = "", via: str = "",
               postal: str = "432") -> None:  # fmt: skip
        signups.append({"event_id": eid, "platform": "forms", "occurred_at": when,
                        "ingested_at": when, "channel": channel, "form": "volunteer",
                        "referral_code": code, "utm_campaign": campaign, "country": "US",
                        "region": "OH", "postal_prefix": postal,
                        "email_hmac": f"h-{eid}"})  # fmt: skip
        if kind:
            attribution.append({"event_id": eid, "occurred_at": when, "channel": channel,
                                "form": "volunteer", "kind": kind, "target_id": target,
                                "via": via})  # fmt: skip

    for i in range(4):
        signup(f"s:t{i}", at(y, 15, i), "referral", "TORRES", kind="validator",
               target="mayor-alicia-torres", via="referral_code", postal="4410")  # fmt: skip
    for i in range(2):
        signup(f"s:o{i}", at(d2, 11, i), "web", campaign="omar-haddad", kind="validator",
               target="omar-haddad", via="utm_campaign")  # fmt: skip
    signup("s:k0", at(y, 9), "web", campaign="kim-lee", kind="validator", target="kim-lee",
           via="utm_campaign")  # fmt: skip
    signup("s:th", at(y, 16), "web", kind="thread", target="t1", via="utm_content")
    signup("s:w0", at(y, 17, 0), "web", kind="channel", target="web", via="channel")
    signup("s:w1", at(y, 17, 1), "web", kind="channel", target="web", via="channel",
           postal="452")  # fmt: skip
    signup("s:p0", at(y, 18), "event", postal="452")  # not attributed yet
    for i in range(3):  # ten days ago: not this week
        signup(f"s:old{i}", at(old, 12, i), "referral", "TORRES", kind="validator",
               target="mayor-alicia-torres", via="referral_code", postal="441")  # fmt: skip
    insert(c, "signups", signups)
    insert(c, "signups", signups[:1])  # a replayed signup: the views count it once
    insert(c, "signup_attribution", attribution)

    def thread_post(tid: str, pid: str, parent: str | None, who: str, minute: int,
                    text: str) -> dict[str, Any]:  # fmt: skip
        when = at(y, 9, minute)
        return {"event_id": f"d:{pid}", "platform": "discourse", "occurred_at": when,
                "ingested_at": when, "thread_id": tid, "post_id": pid, "parent_id": parent,
                "thread_title": "Town hall dates", "author_id": who, "author_handle": who,
                "text": text, "url": f"https://forum.example/{tid}/{pid}"}  # fmt: skip

    insert(c, "thread_posts", [
        thread_post("t2", "p0", None, "staff", 0, "Town hall thread"),
        thread_post("t2", "q1", "p0", "u1", 1, "When is the next town hall?"),
        thread_post("t2", "r1", "q1", "u2", 2, "+1"),
        thread_post("t2", "q2", "p0", "u3", 3, "Where do I sign up to canvass?"),
        thread_post("t2", "r2", "q2", "u4", 4, "Here is the link: https://example.org/canvass"),
        thread_post("t2", "q3", "p0", "u5", 5, "Is there a bus to the rally?"),
        thread_post("t2", "r3", "q3", "u5", 6, "Answering myself: the 12 goes there, see map"),
    ])  # fmt: skip

    def post_score(pid: str, who: str, minute: int, substantive: int, question: int,
                   low: int = 0) -> dict[str, Any]:  # fmt: skip
        return {"thread_id": "t2", "post_id": pid, "event_id": f"d:{pid}",
                "occurred_at": at(y, 9, minute), "author_id": who, "substance": 0.5 * substantive,
                "substantive": substantive, "low_effort": low, "is_question": question,
                "features": "{}"}  # fmt: skip

    insert(c, "thread_post_scores", [
        post_score("p0", "staff", 0, 1, 0), post_score("q1", "u1", 1, 1, 1),
        post_score("r1", "u2", 2, 0, 0, low=1), post_score("q2", "u3", 3, 1, 1),
        post_score("r2", "u4", 4, 1, 0), post_score("q3", "u5", 5, 1, 1),
        post_score("r3", "u5", 6, 1, 0),
    ])  # fmt: skip

    def thread(tid: str, title: str, golden: int, quality: float, tx: int) -> dict[str, Any]:
        return {"thread_id": tid, "thread_title": title, "subject": ISSUE,
                "url": f"https://forum.example/{tid}", "first_post_at": at(y, 9),
                "last_post_at": at(y, 12), "posts": 12, "participants": 6,
                "substantive_posts": 9, "transactions": tx, "back_and_forth": 4,
                "links_added": 3, "questions": 2, "questions_answered": 2,
                "oldest_open_question_at": None, "low_effort_share": 0.1,
                "mean_substance": 0.5, "quality": quality, "golden": golden}  # fmt: skip

    insert(c, "thread_scores", [
        thread("t1", "How will the transit plan be funded?", 1, 0.72, 5),
        thread("t2", "Town hall dates", 0, 0.31, 1),
    ])  # fmt: skip

    window = {"window_start": at(today - dt.timedelta(days=14), 0), "window_end": at(y, 23)}
    insert(c, "buzz_signup_lag", [
        {"subject": "all", "lag_hours": lag, "r": r, "pairs": 300} | window
        for lag, r in ((0, 0.1), (1, 0.3), (2, 0.62), (3, 0.4), (4, None))
    ])  # fmt: skip
    return today


# Expected answers, by example id --------------------------------------------------------------
Check = Callable[[list[tuple[Any, ...]], dt.date], None]


def exactly(*rows: tuple[Any, ...]) -> Check:
    def check(got: list[tuple[Any, ...]], today: dt.date) -> None:
        assert got == list(rows)

    return check


def first(*rows: tuple[Any, ...]) -> Check:
    def check(got: list[tuple[Any, ...]], today: dt.date) -> None:
        assert got[: len(rows)] == list(rows)

    return check


def spike_yesterday(got: list[tuple[Any, ...]], today: dt.date) -> None:
    y = today - dt.timedelta(days=1)
    assert got == [(
        CAND, at(y, 14).replace(tzinfo=None), at(y, 14, 1).replace(tzinfo=None), 90, 60, 29.0, 1,
        f"Possible attack on {CAND}: 60 a minute vs 2.0 usual", ["scandal", "leaked"],
        ["riveragate"], ["https://gossip.example/story"], ["@troll1"],
        ["https://x.example/p/1", "https://x.example/p/2"],
    )]  # fmt: skip


def rollup_hourly(got: list[tuple[Any, ...]], today: dt.date) -> None:
    y = today - dt.timedelta(days=1)
    assert got == [(CAND, at(y, 14).replace(tzinfo=None), 5, 5, 3)]


def lead(got: list[tuple[Any, ...]], today: dt.date) -> None:
    assert got == [("all", 2, 0.62, 300)]


EXPECTED: dict[str, Check] = {
    "share_of_voice_period": exactly((CAND, 125, 0.556), (RIVAL, 100, 0.444)),
    "share_of_voice_daily": lambda got, today: _eq(
        got,
        [
            (today - dt.timedelta(days=2), RIVAL, 75, 0.75, 15),
            (today - dt.timedelta(days=2), CAND, 25, 0.25, 5),
            (today - dt.timedelta(days=1), CAND, 100, 0.8, 74),
            (today - dt.timedelta(days=1), RIVAL, 25, 0.2, 5),
        ],
    ),
    "spike_yesterday": spike_yesterday,
    "spike_posts": first(
        ("@troll1", 90_000, 1350, -0.8, "https://x.example/p/1"),
        ("@gossipdesk", 40_000, 450, -0.7, "https://x.example/p/2"),
    ),
    "spike_terms": exactly(("scandal", 4, 4), ("leaked", 2, 2)),
    "spike_resharers": exactly(("x:1", "@troll1", 1)),
    "spike_list": lambda got, today: _eq([r[:3] for r in got], [(CAND, 1, "critical")]),
    "validators_signups_week": exactly(
        ("Mayor Alicia Torres", "local officials", 4, 4),
        ("Omar Haddad", "unions", 2, 0),
        ("Kim Lee", "bloggers", 1, 0),
    ),
    "validators_reach_week": exactly(
        ("Kim Lee", "bloggers", 2, 130_000, 520_000.0, 1),
        ("Mayor Alicia Torres", "local officials", 1, 50_000, 450_000.0, 4),
        ("Omar Haddad", "unions", 1, 20_000, 140_000.0, 2),
    ),
    "golden_threads": exactly(
        ("How will the transit plan be funded?", 0.72, 5, 6, "https://forum.example/t1")
    ),
    "unanswered_questions": exactly(
        ("Town hall dates", "u1", "When is the next town hall?", "https://forum.example/t2/q1"),
        ("Town hall dates", "u5", "Is there a bus to the rally?", "https://forum.example/t2/q3"),
    ),
    "signups_by_channel": exactly(
        ("web", 6, 3, 1, 2, 0),
        ("referral", 4, 4, 0, 0, 0),
        ("event", 1, 0, 0, 0, 1),
    ),
    "signups_by_referral": exactly(("TORRES", 4, "mayor-alicia-torres")),
    "signups_drivers": first(("validator", "mayor-alicia-torres", 4)),
    "buzz_signup_lead": lead,
    "buzz_signup_lags": exactly((0, 0.1), (1, 0.3), (2, 0.62), (3, 0.4)),
    "places_growing": exactly(("US", "432", "OH", 5, 5, 0), ("US", "441", "OH", 7, 4, 3)),
    "places_drivers": exactly(
        ("432", "validator", "Omar Haddad", 2),
        ("432", "validator", "Kim Lee", 1),
        ("432", "thread", "t1", 1),
        ("441", "validator", "Mayor Alicia Torres", 4),
    ),
    "rollup_hourly": rollup_hourly,
    "rollup_platform_daily": lambda got, today: _eq(
        got, [(today - dt.timedelta(days=1), "x", 5), (today - dt.timedelta(days=1), "mastodon", 1)]
    ),
    "mentions_latest": exactly((7, 6)),
    "alert_deliveries": exactly(
        ("attack", "press-slack", "sent", 2, ""),
        ("attack", "sms-relay", "unknown", 1, "the worker stopped after sending began"),
    ),
    "subject_platform": exactly((CAND, "x", 5), (RIVAL, "mastodon", 1)),
}


# Query parameters of the examples that take them (as buzz sql --param would pass them).
PARAMS: dict[str, Callable[[dt.date], dict[str, Any]]] = {
    "share_of_voice_period": lambda today: {
        "since": today - dt.timedelta(days=2),
        "until": today - dt.timedelta(days=1),
    },
}


def _eq(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> None:
    assert got == want


# Tests ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario(own_warehouse: str) -> tuple[Client, dt.date]:
    today = fill_scenario(get_client(url=own_warehouse))
    parts = urllib.parse.urlsplit(own_warehouse)
    analyst = clickhouse_connect.get_client(
        host=parts.hostname, port=parts.port, username="analyst"
    )
    return analyst, today


def test_schema_section_matches_the_live_warehouse(own_warehouse: str) -> None:
    generated = schema_doc.render_schema(get_client(url=own_warehouse))
    current = doc_text()
    assert schema_doc.splice(current, generated) == current, (
        "docs/warehouse.md's schema is out of date: run python -m pipeline.warehouse.schema_doc"
    )


def test_every_sql_block_is_a_checked_example() -> None:
    blocks = SQL_BLOCK.findall(doc_text())
    examples = EXAMPLE.findall(doc_text())
    assert len(blocks) == len(examples), "every ```sql block needs <!-- example: id --> above it"
    ids = [i for i, _ in examples]
    assert len(set(ids)) == len(ids)
    assert set(ids) == set(EXPECTED), set(ids) ^ set(EXPECTED)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_doc_query_answers(scenario: tuple[Client, dt.date], example: str) -> None:
    analyst, today = scenario
    sql = dict(EXAMPLE.findall(doc_text()))[example]
    params = PARAMS[example](today) if example in PARAMS else None
    rows = analyst.query(sql, parameters=params).result_rows
    EXPECTED[example]([tuple(_plain(v) for v in r) for r in rows], today)


def _plain(v: Any) -> Any:
    # Rounded floats in the docs come back as floats; compare them at the docs' precision.
    return round(v, 6) if isinstance(v, float) else v


def test_buzz_sql_as_analyst_with_file_params_and_csv(
    scenario: tuple[Client, dt.date], own_warehouse: str, tmp_path: Path
) -> None:
    # The documented command-line path: BUZZ_CLICKHOUSE_URL naming the analyst, --file, --param.
    _, today = scenario
    query = tmp_path / "share_of_voice.sql"
    query.write_text(dict(EXAMPLE.findall(doc_text()))["share_of_voice_period"], "utf-8")
    parts = urllib.parse.urlsplit(own_warehouse)
    env = clean_env(BUZZ_CLICKHOUSE_URL=f"http://analyst@{parts.hostname}:{parts.port}")
    since, until = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    args = ["sql", "--file", str(query), "--param", f"since={since}", "--param", f"until={until}"]
    proc = subprocess.run(
        buzz_cmd(*args, "--format", "csv"), capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        '"subject","total","share_of_voice"',
        f'"{CAND}",125,0.556',
        f'"{RIVAL}",100,0.444',
    ]
    denied = subprocess.run(
        buzz_cmd("sql", "DROP TABLE buzz.mentions"),
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert denied.returncode == 1
    assert denied.stderr.strip().startswith("buzz sql: Code: 164.")
    assert "analyst: Cannot execute query in readonly mode" in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1
