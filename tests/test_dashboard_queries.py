"""The dashboard's fast queries give exactly what the raw tables give.

One warehouse for the module, seeded with ``buzz bench dashboard``'s campaign (20,000 mentions
over 30 days: replays, spikes, validator cascades, threads, signups) and every closed minute
sealed. Each query that reads sealed minutes is compared with its raw path (the code the
dashboard runs when sealing is behind), and each rewritten query with the query it replaced
(kept here as the definition), over every window and subject filter the pages offer. Sealed
minutes must also follow late data, replays and deletes before they are sealed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from clickhouse_connect.driver.client import Client

from dashboard.filters import WINDOWS
from dashboard.queries import conversations, health, now, sealed, signups
from dashboard.queries.base import TS, Window, utc_columns
from pipeline.bench_dashboard.run import Seeder, seal_minutes
from pipeline.campaign import load_campaign
from pipeline.tables import MENTION_SCORES, MENTIONS, MentionRow, MentionScoreRow
from pipeline.warehouse.client import get_client

pytestmark = pytest.mark.timeout(600)

CAMPAIGN = load_campaign()
EVERYONE = tuple(s.id for s in CAMPAIGN.subjects)
SUBJECT_SETS = [EVERYONE, (CAMPAIGN.candidate.id,), EVERYONE[1:3]]


@pytest.fixture(scope="module")
def client(own_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    c = get_client(url=own_warehouse, send_receive_timeout=600)
    seeder = Seeder(c, CAMPAIGN, Path(tmp_path_factory.mktemp("seed")) / "seed.json")
    seeder.seed(20_000)
    seeder.keep_live()
    seal_minutes(c)
    yield c


def windows() -> list[tuple[str, Window]]:
    return [(key, Window.now(w.minutes, w.bucket_minutes)) for key, w in WINDOWS.items()]


def records(df: pd.DataFrame) -> list[dict[Any, Any]]:
    return df.to_dict("records")


def sealed_in_use(c: Client, window: Window) -> bool:
    status = sealed.minute_status(c, window.previous_start, window.end, window.end)
    return status is not None and len(status.live) <= sealed.MAX_LIVE_MINUTES


# --- sealed minutes against the raw tables --------------------------------------------------


@pytest.mark.parametrize("subjects", SUBJECT_SETS, ids=lambda s: "+".join(s))
def test_headline_from_sealed_minutes_is_the_raw_count(client: Client, subjects: Any) -> None:
    for key, window in windows():
        assert sealed_in_use(client, window), key
        fast = now.headline(client, subjects, window)
        assert records(fast) == records(now._headline_raw(client, subjects, window)), key
    # The seed is busy enough for the comparison to mean something.
    assert int(fast["mentions"].iloc[0]) > 1000 and int(fast["authors"].iloc[0]) > 100


@pytest.mark.parametrize("subjects", SUBJECT_SETS, ids=lambda s: "+".join(s))
def test_top_hashtags_from_sealed_minutes_are_the_raw_ones(
    client: Client, subjects: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, window in windows():
        fast = now.top_hashtags(client, subjects, window, limit=8)
        with monkeypatch.context() as m:
            m.setattr(sealed, "top_hashtags", lambda *a, **k: None)
            raw = now.top_hashtags(client, subjects, window, limit=8)
        assert records(fast) == records(raw), key
    assert len(fast) == 8


def test_freshness_from_sealed_minutes_is_the_raw_one(client: Client) -> None:
    fast = health.freshness(client)
    assert records(fast) == records(health._freshness_raw(client))
    assert int(fast["total"].iloc[0]) >= 20_000


def mention(event_id: str, at: datetime, seen: datetime) -> MentionRow:
    return MentionRow(
        event_id=event_id, platform="x", occurred_at=at, ingested_at=seen, author_id="late-1",
        author_handle="late", author_name="Late Poster", author_audience=10,
        text="Jordan Kim, late but here #latepost", url="https://x.example/late", lang="en",
        likes=0, reshares=0, replies=0, quotes=0, reshare_of=None, reply_to=None, links=[],
        hashtags=["latepost"], truncated=[], sentiment=0.0,
    )  # fmt: skip


def score(event_id: str, at: datetime, subject: str) -> MentionScoreRow:
    return MentionScoreRow(
        event_id=event_id, subject=subject, minute=at.replace(second=0, microsecond=0),
        occurred_at=at, author_id="late-1", terms=["Jordan Kim"], sentiment=0.0, negative=0,
        engagement_weight=1.0, audience_weight=1.0, validator="", reshare_of=None, reply_to=None,
    )  # fmt: skip


def test_sealed_minutes_follow_late_data_replays_and_deletes(client: Client) -> None:
    window = Window.now(WINDOWS["24h"].minutes, WINDOWS["24h"].bucket_minutes)
    kim = (CAMPAIGN.candidate.id,)
    before = now.headline(client, kim, window)
    total_before = int(health.freshness(client)["total"].iloc[0])
    # A replay of a sealed mention of the window (same event, seen again later)...
    old = client.query(
        f"SELECT {MENTIONS.select} FROM buzz.mentions FINAL WHERE event_id IN ("
        " SELECT event_id FROM buzz.mention_scores WHERE subject = {s:String}"
        f" AND occurred_at >= {{start:{TS}}} AND occurred_at < {{start:{TS}}} + INTERVAL 1 HOUR)"
        " LIMIT 1",
        parameters={"s": kim[0], "start": window.start},
    ).result_rows[0]
    replay = MENTIONS.read(old)._replace(ingested_at=datetime.now(UTC))
    old_scores = client.query(
        f"SELECT {MENTION_SCORES.select} FROM buzz.mention_scores FINAL"
        " WHERE event_id = {e:String}",
        parameters={"e": replay.event_id},
    ).result_rows
    client.insert(MENTIONS.name, [replay], column_names=list(MENTIONS.columns))
    client.insert(MENTION_SCORES.name, [MENTION_SCORES.read(r) for r in old_scores],
                  column_names=list(MENTION_SCORES.columns))  # fmt: skip
    # ...and a post that arrives hours late, in a minute sealed long ago.
    late_at = window.start + timedelta(hours=2, seconds=7)
    client.insert(MENTIONS.name, [mention("x:late-1", late_at, datetime.now(UTC))],
                  column_names=list(MENTIONS.columns))  # fmt: skip
    client.insert(MENTION_SCORES.name, [score("x:late-1", late_at, kim[0])],
                  column_names=list(MENTION_SCORES.columns))  # fmt: skip

    status = sealed.minute_status(client, window.previous_start, window.end, window.end)
    assert status is not None
    assert late_at.replace(second=0, microsecond=0) in [utc(m) for m in status.live]
    after = now.headline(client, kim, window)
    assert records(after) == records(now._headline_raw(client, kim, window))
    assert int(after["mentions"].iloc[0]) == int(before["mentions"].iloc[0]) + 1  # not the replay
    assert int(health.freshness(client)["total"].iloc[0]) == total_before + 1
    tags = now.top_hashtags(client, kim, window, limit=1000)
    assert dict(zip(tags["hashtag"], tags["mentions"], strict=True))["latepost"] == 1

    # Sealed again, the minute still counts the late post once; deleted, it counts it no more.
    seal_minutes(client)
    assert records(now.headline(client, kim, window)) == records(after)
    for table in ("mentions", "mention_scores"):
        client.command(
            f"ALTER TABLE buzz.{table} DELETE WHERE event_id = 'x:late-1'",
            settings={"mutations_sync": 2},
        )
    assert records(now.headline(client, kim, window))[0]["mentions"] == before["mentions"].iloc[0]
    assert records(health.freshness(client)) == records(health._freshness_raw(client))
    assert int(health.freshness(client)["total"].iloc[0]) == total_before


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- rewritten queries against the ones they replaced ---------------------------------------

OLD_IN_WINDOW = f"""
    event_id IN (
        SELECT event_id FROM buzz.mention_scores
        WHERE subject IN {{subjects:Array(String)}}
          AND occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}})
    AND occurred_at >= {{start:{TS}}} AND occurred_at <= {{end:{TS}}}
"""


@pytest.mark.parametrize("subjects", SUBJECT_SETS, ids=lambda s: "+".join(s))
@pytest.mark.parametrize("limit", [20, 5000])
def test_newest_mentions_are_the_windows_newest(client: Client, subjects: Any, limit: int) -> None:
    for key, window in windows():
        old = client.query_df(
            f"""
            SELECT occurred_at, platform, author_handle AS author, author_audience AS audience,
                   text, likes + reshares + replies + quotes AS engagement, url
            FROM buzz.mentions FINAL WHERE {OLD_IN_WINDOW}
            ORDER BY occurred_at DESC, event_id LIMIT {{limit:UInt32}}
            """,
            parameters=window.params() | {"subjects": list(subjects), "limit": limit},
        )
        new = now.newest_mentions(client, subjects, window, limit)
        assert new.equals(utc_columns(old, "occurred_at")), key


@pytest.mark.parametrize("subjects", [None, (CAMPAIGN.candidate.id,)])
def test_unanswered_questions_are_the_views(client: Client, subjects: Any) -> None:
    view = client.query_df(
        """
        SELECT thread_id, thread_title, subject, post_id, author_handle, asked_at, question, url
        FROM buzz.unanswered_questions
        WHERE asked_at >= now64(3) - toIntervalSecond({max_age:UInt32})
          AND ({all_subjects:Bool} OR subject IN {subjects:Array(String)})
        ORDER BY asked_at, post_id
        LIMIT 100
        """,
        parameters={
            "max_age": int(conversations.QUESTION_MAX_AGE.total_seconds()),
            "all_subjects": subjects is None,
            "subjects": list(subjects or []),
        },
    )
    new = conversations.unanswered_questions(client, subjects)
    assert len(new) >= 5  # the seed's forum has unanswered questions this week
    assert new.equals(utc_columns(view, "asked_at"))


OLD_ATTRIBUTION = f"""
    SELECT a.kind AS kind, a.target_id AS target_id, count() AS signups,
           multiIf(a.kind = 'validator', if(any(v.name) = '', a.target_id, any(v.name)),
                   a.kind = 'thread', if(any(t.thread_title) = '', a.target_id,
                                         any(t.thread_title)),
                   a.kind = 'mention', if(any(m.text) = '', a.target_id,
                                          concat('@', any(m.author_handle), ': ',
                                                 substring(any(m.text), 1, 80))),
                   a.target_id) AS label,
           multiIf(a.kind = 'thread', any(t.url), a.kind = 'mention', any(m.url), '') AS url
    FROM buzz.signup_attribution AS a FINAL
    LEFT JOIN (SELECT validator, name FROM buzz.validators FINAL) AS v
        ON v.validator = a.target_id
    LEFT JOIN (SELECT thread_id, thread_title, url FROM buzz.thread_scores FINAL) AS t
        ON t.thread_id = a.target_id
    LEFT JOIN (SELECT event_id, author_handle, text, url FROM buzz.mentions FINAL) AS m
        ON m.event_id = a.target_id
    WHERE a.occurred_at >= {{start:{TS}}} AND a.occurred_at <= {{end:{TS}}}
    GROUP BY a.kind, a.target_id
    ORDER BY signups DESC, kind, target_id
    LIMIT {{limit:UInt32}}
"""


def test_attribution_is_the_join_of_every_target(client: Client) -> None:
    kinds: set[str] = set()
    for key, window in windows():
        old = client.query_df(OLD_ATTRIBUTION, parameters=window.params() | {"limit": 30})
        new = signups.attribution(client, window)
        assert records(new) == records(old), key
        kinds |= set(new["kind"]) if len(new) else set()
    assert {"validator", "thread", "mention", "channel"} <= kinds


def test_last_closed_minute_is_the_final_one(client: Client) -> None:
    final = client.query("SELECT max(minute) FROM buzz.buzz_minutes FINAL").result_rows[0][0]
    assert now.last_closed_minute(client) == utc(final)


def old_cascade(c: Client, root_id: str, max_depth: int = 10, max_nodes: int = 200) -> list[Any]:
    """The walk as it was: FINAL with every default, through pandas."""
    node_sql = (
        "SELECT event_id, author_handle, author_audience, reshare_of, reply_to, occurred_at, url"
        " FROM buzz.mentions FINAL"
    )
    root = c.query_df(
        node_sql + " WHERE event_id = {root:String} LIMIT 1", parameters={"root": root_id}
    )
    nodes = [(root_id, None, str(root.iloc[0]["author_handle"]), 0)]
    frontier = [root_id]
    for depth in range(1, max_depth + 1):
        if not frontier or len(nodes) >= max_nodes:
            break
        level = c.query_df(
            node_sql + " WHERE reshare_of IN {ids:Array(String)} OR reply_to IN {ids:Array(String)}"
            " ORDER BY occurred_at, event_id LIMIT {limit:UInt32}",
            parameters={"ids": frontier, "limit": max_nodes - len(nodes) + 1},
        )
        ids, frontier = set(frontier), []
        for _, row in level.iterrows():
            parent = row["reshare_of"] if pd.notna(row["reshare_of"]) else row["reply_to"]
            if parent in ids and len(nodes) < max_nodes:
                nodes.append((str(row["event_id"]), str(parent), str(row["author_handle"]), depth))
                frontier.append(str(row["event_id"]))
    return nodes


def test_cascades_are_the_full_walks(client: Client) -> None:
    from dashboard.queries import validators

    posts = validators.validator_posts(client, Window.now(WINDOWS["7d"].minutes, 1))
    depths = set()
    for root in list(posts["root_id"])[:5]:
        new = validators.cascade(client, str(root))
        assert [(n.event_id, n.parent_id, n.author, n.depth) for n in new.nodes] == old_cascade(
            client, str(root)
        )
        depths |= {n.depth for n in new.nodes}
    assert max(depths) >= 3  # the seed's cascades are more than a star
