"""Seeding what the dashboard reads besides mentions: threads, signups, alerts, health tables.

Sizes come from :class:`~pipeline.bench_dashboard.shape.Shape` (per 10 million mentions: 20,000
threads of 25 posts, 50,000 signups, 4,000 alerts besides spikes, 10,000 dead letters), spread
over the same 30 days and ending at ``end``; all generated inside the warehouse.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clickhouse_connect.driver.client import Client

from pipeline.bench_dashboard.seed_mentions import ID0, event_id
from pipeline.bench_dashboard.shape import Shape, h, sql_strs, sql_time, u

POSTS_PER_THREAD = 25
THREAD_TITLES = (
    "Ask the campaign", "Riverline extension: who pays?", "Zoning meeting recap",
    "Debate night thread", "Volunteer carpool for Saturday", "Bus lanes on 5th, yes or no",
    "What Kim said about rent", "Reyes at the chamber breakfast", "Candidate forum questions",
)  # fmt: skip
REPLIES = (
    "I was there, and the answer on funding was more specific than people say: the bond plus "
    "the county match, see the slides.",
    "Honestly I still do not see how the numbers work. Can someone link the actual plan?",
    "Great post!",
    "This. The library session was packed and people asked hard questions about rent.",
    "Does anyone know whether the Thursday event is still on? The page says sold out.",
    "Source: the committee minutes from March, page 14, lays out the timeline.",
)  # fmt: skip
CHANNELS = ("web", "web", "web", "web", "referral", "referral", "event", "event", "text", "social")
FORMS = ("volunteer", "volunteer", "phone-bank", "canvass", "newsletter")
REGIONS = ("CA", "OR", "WA", "NV", "AZ")
ALERT_KINDS = ("validator_first", "cascade", "golden_thread", "unanswered_question", "signup_surge")
ALERT_TITLES = (
    "First post from validator Coach Marcus Bell",
    "Post by Mayor Alicia Torres is taking off: 40 reshares in 20 min",
    "Thread worth joining: 7 real exchanges, 5 people",
    "Unanswered question for 75 min: Has Kim said how the Riverline plan gets funded?",
    "Signup surge on web: 14 in a minute vs 2.1 usual",
)
DEAD_REASONS = (
    "invalid JSON: Expecting value: line 1 column 1 (char 0)",
    "missing field occurred_at",
    "occurred_at is in the future",
    "scoring: ValueError('bad unicode')",
)  # fmt: skip
SOURCES = ("demo", "x", "rss", "mastodon", "bluesky", "discourse", "webhook")
SOURCE_COLUMNS = [
    "source", "instance", "status", "started_at", "updated_at", "events_total",
    "dead_letters_total", "last_success_at", "last_error_at", "last_error",
]  # fmt: skip
PARTITION_COLUMNS = [
    "topic",
    "partition",
    "next_offset",
    "event_time_watermark",
    "caught_up_at",
    "worker",
]


def insert_validators(client: Client, shape: Shape) -> None:
    client.insert(
        "buzz.validators",
        [[v.key, v.name, v.group, v.trust, ["x"], [v.handle]] for v in shape.validators],
        column_names=["validator", "name", "group_name", "trust_weight", "platforms", "handles"],
    )


def _seconds(shape: Shape, end: datetime, index: str, count: int) -> str:
    """Seconds after ``shape.start`` for item ``index`` of ``count`` spread evenly up to ``end``."""
    total = (end - shape.start).total_seconds()
    return f"({total!r} * ({index} + {u(index, 3)}) / {count})"


def insert_threads(client: Client, shape: Shape, end: datetime) -> None:
    """Threads of 25 posts each (opening post, replies, questions) with their scores."""
    threads, start = shape.threads, sql_time(shape.start)
    sids = sql_strs([*shape.subject_ids, ""])
    base = f"""
        SELECT number AS p, intDiv(p, {POSTS_PER_THREAD}) AS k, p % {POSTS_PER_THREAD} AS j,
               concat('discourse:', toString(k)) AS thread_id, toString(j + 1) AS post_id,
               addSeconds({start}, toInt64({_seconds(shape, end, "k", threads)}
                          + j * (300 + {h("k", 1)} % 1200) + {h("p", 2)} % 200)) AS occurred_at,
               concat('f', toString({h("p", 4)} % 20000)) AS author_id,
               {u("p", 5)} AS draw
        FROM numbers({threads * POSTS_PER_THREAD})
        WHERE occurred_at <= {sql_time(end)}"""
    client.command(
        f"""INSERT INTO buzz.thread_posts (event_id, platform, occurred_at, ingested_at,
            thread_id, post_id, parent_id, thread_title, author_id, author_handle, author_name,
            author_audience, text, links, url, sunk_at)
        SELECT concat(thread_id, ':', post_id), 'discourse', occurred_at,
               addSeconds(occurred_at, 30), thread_id, post_id,
               if(j = 0 OR {h("p", 6)} % 10 < 3, NULL, toString(1 + {h("p", 7)} % j)),
               concat({sql_strs(THREAD_TITLES)}[1 + {h("k", 8)} % {len(THREAD_TITLES)}],
                      ' #', toString(k)),
               author_id, concat('neighbour', author_id), concat('Neighbour ', author_id),
               0, {sql_strs(REPLIES)}[1 + {h("p", 9)} % {len(REPLIES)}],
               if({h("p", 10)} % 5 = 0, ['https://campaign.example/plan'], []),
               concat('https://forum.northside.example/t/', toString(k), '/', post_id),
               addSeconds(occurred_at, 31)
        FROM ({base})"""
    )
    client.command(
        f"""INSERT INTO buzz.thread_post_scores (thread_id, post_id, event_id, occurred_at,
            author_id, substance, substantive, low_effort, is_question, features, scored_at)
        SELECT thread_id, post_id, concat(thread_id, ':', post_id), occurred_at, author_id,
               if(low, draw * 0.2, draw) AS substance, substance >= 0.3, low,
               {h("p", 11)} % 100 < if(j = 0, 30, 12), '{{"length": 0.2, "links": 0.1}}',
               addSeconds(occurred_at, 32)
        FROM (SELECT *, {h("p", 12)} % 10 = 0 AS low FROM ({base}))"""
    )
    # Scores of each thread from its posts: the final version, and for half the threads an
    # earlier one the worker wrote before the last posts came (ReplacingMergeTree keeps both
    # until a merge).
    client.command(
        f"""INSERT INTO buzz.thread_scores (thread_id, thread_title, subject, url, first_post_at,
            last_post_at, posts, participants, substantive_posts, transactions, back_and_forth,
            links_added, questions, questions_answered, oldest_open_question_at,
            low_effort_share, mean_substance, quality, golden, computed_at)
        SELECT p.thread_id, any(p.thread_title),
               {sids}[1 + cityHash64(p.thread_id) % {len(shape.subject_ids) + 1}],
               concat('https://forum.northside.example/t/', substring(p.thread_id, 11), '/1'),
               min(p.occurred_at), max(p.occurred_at) - toIntervalMinute(if(v = 1, 0, 90)),
               toUInt32(count() - if(v = 1, 0, 3)), toUInt32(uniqExact(p.author_id)),
               toUInt32(countIf(s.substantive = 1)),
               toUInt32(countIf(s.substantive = 1 AND p.parent_id IS NOT NULL)) AS tx,
               toUInt32(tx / 3), toUInt32(countIf(notEmpty(p.links))),
               toUInt32(countIf(s.is_question = 1)) AS q, toUInt32(q * 2 / 3),
               if(q > 0, min(p.occurred_at), NULL), avg(s.low_effort), avg(s.substance),
               least(1., avg(s.substance) * 0.9 + (cityHash64(p.thread_id, 5) % 100) / 500)
                   AS quality,
               quality >= 0.6 AND tx >= 5,
               addSeconds(max(p.occurred_at), if(v = 1, 40, -3600))
        FROM buzz.thread_posts AS p
        INNER JOIN buzz.thread_post_scores AS s
            ON s.thread_id = p.thread_id AND s.post_id = p.post_id
        ARRAY JOIN if(cityHash64(p.thread_id) % 2 = 0, [1, 2], [1]) AS v
        GROUP BY p.thread_id, v"""
    )


def insert_signups(client: Client, shape: Shape, end: datetime) -> None:
    """Signups over the 30 days, their last-touch attribution, and the buzz-signup lag."""
    n, start = shape.signups, sql_time(shape.start)
    codes = sql_strs(v.handle.upper() for v in shape.validators)
    vkeys = sql_strs(v.key for v in shape.validators)
    nv = len(shape.validators)
    mention = f"toUInt64(i * {shape.mentions} / {n}) - {h('i', 20)} % 5000"
    base = f"""
        SELECT number AS i,
               addSeconds({start}, toInt64({_seconds(shape, end, "i", n)})) AS occurred_at,
               {sql_strs(CHANNELS)}[1 + {h("i", 1)} % {len(CHANNELS)}] AS channel,
               {h("i", 2)} % {nv} AS v, {h("i", 3)} % 100 AS draw,
               multiIf(channel = 'referral' AND draw < 60, {codes}[v + 1],
                       channel = 'referral', concat('R', toString({h("i", 4)} % 3000)), '')
                   AS referral_code,
               multiIf(draw < 15 AND channel != 'referral', 'thread',
                       draw < 30 AND channel != 'referral' AND i * {shape.mentions} / {n} > 5000,
                       'mention', '') AS utm_kind
        FROM numbers({n})"""
    client.command(
        f"""INSERT INTO buzz.signups (event_id, platform, occurred_at, ingested_at, channel, form,
            referral_code, utm_source, utm_medium, utm_campaign, utm_content, utm_term, country,
            region, postal_prefix, email_hmac, phone_hmac, sunk_at)
        SELECT concat('actionnetwork:', toString(i)), 'actionnetwork', occurred_at,
               addSeconds(occurred_at, 5), channel, {sql_strs(FORMS)}[1 + {h("i", 5)} % 5],
               referral_code, if(utm_kind = '', '', 'x'), if(utm_kind = '', '', 'social'),
               if(utm_kind = '', '', 'fall-push'),
               multiIf(utm_kind = 'thread',
                       concat('discourse:', toString({h("i", 6)} % {shape.threads})),
                       utm_kind = 'mention', {event_id(mention)}, ''),
               '', 'US', {sql_strs(REGIONS)}[1 + {h("i", 7)} % 5],
               toString(9000 + {h("i", 8)} % 900), lower(hex(SHA256(toString(i)))),
               if(draw % 4 = 0, lower(hex(SHA256(concat('p', toString(i))))), NULL),
               addSeconds(occurred_at, 6)
        FROM ({base})"""
    )
    client.command(
        f"""INSERT INTO buzz.signup_attribution (event_id, occurred_at, channel, form, kind,
            target_id, via, computed_at)
        SELECT s.event_id, s.occurred_at, s.channel, s.form,
               multiIf(has({codes}, s.referral_code), 'validator',
                       startsWith(s.utm_content, 'discourse:'), 'thread',
                       s.utm_content != '', 'mention', 'channel'),
               multiIf(has({codes}, s.referral_code), {vkeys}[indexOf({codes}, s.referral_code)],
                       s.utm_content != '', s.utm_content, s.channel),
               multiIf(s.referral_code != '', 'referral_code', s.utm_content != '', 'utm_content',
                       'channel'),
               addSeconds(s.occurred_at, 20)
        FROM buzz.signups AS s"""
    )
    client.command(
        """INSERT INTO buzz.signup_minutes (channel, minute, signups, expected, anomaly_score,
            surge, computed_at)
        SELECT channel, toStartOfMinute(occurred_at) AS m, toUInt32(count()), 0.1, 0, 0,
               addSeconds(m, 65)
        FROM buzz.signups GROUP BY channel, m"""
    )
    lag_end = end.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
    rows = [
        [subject, lag, round(0.55 - abs(lag - 3) * 0.04, 3) if lag < 14 else None, 300,
         lag_end - timedelta(days=14), lag_end]
        for subject in ["all", *shape.subject_ids]
        for lag in range(25)
    ]  # fmt: skip
    client.insert(
        "buzz.buzz_signup_lag",
        rows,
        column_names=["subject", "lag_hours", "r", "pairs", "window_start", "window_end"],
    )


def insert_alerts(client: Client, shape: Shape, end: datetime) -> None:
    """Alerts other than spikes, and staff's actions on them (and on spikes) older than 2 h."""
    n, start = shape.alerts, sql_time(shape.start)
    sids, nsubjects, nkinds = sql_strs(shape.subject_ids), len(shape.subject_ids), len(ALERT_KINDS)
    client.command(
        f"""INSERT INTO buzz.alerts (alert_id, kind, subject, severity, title, at, explanation,
            example_urls, created_at)
        SELECT concat('alert:', kind, ':', lower(hex(cityHash64(number, 'alert')))), kind,
               if(kind = 'signup_surge', 'web', {sids}[1 + {h("number", 2)} % {nsubjects}]),
               if(kind IN ('unanswered_question', 'cascade'), 'warning', 'info'),
               transform(kind, {sql_strs(ALERT_KINDS)}, {sql_strs(ALERT_TITLES)}, ''), at,
               concat('{{"kind": "', kind, '", "detail": "',
                      repeat('x', 200 + {h("number", 3)} % 600), '"}}'),
               [concat('https://x.example/status/', toString({ID0} + {h("number", 4)} % 1000000))],
               addSeconds(at, 30)
        FROM (
            SELECT number, {sql_strs(ALERT_KINDS)}[1 + {h("number", 1)} % {nkinds}] AS kind,
                   addSeconds({start}, toInt64({_seconds(shape, end, "number", n)})) AS at
            FROM numbers({n})
        )"""
    )
    client.command(
        f"""INSERT INTO buzz.alert_actions (alert_id, action, actor, note, at)
        SELECT alert_id, action, concat('staff', toString(cityHash64(alert_id) % 8)), '',
               addSeconds(at, 600 + step * 1800)
        FROM (
            SELECT alert_id, at,
                   if(cityHash64(alert_id, 1) % 100 < 5, ['handled', 'reopened', 'handled'],
                      ['handled']) AS actions
            FROM buzz.alerts
            WHERE at < {sql_time(end - timedelta(hours=2))} AND cityHash64(alert_id, 2) % 100 < 75
        )
        ARRAY JOIN actions AS action, arrayEnumerate(actions) AS step"""
    )


def insert_health(client: Client, shape: Shape, end: datetime) -> None:
    """Dead letters (with payloads of up to a few KB), source heartbeats, stream progress."""
    n = shape.dead_letters
    client.command(
        f"""INSERT INTO buzz.dead_letters (event_id, source_topic, partition, offset, source,
            reason, payload, payload_size, payload_sha256, payload_truncated, received_at)
        SELECT concat('dl:buzz.mentions:', toString(number % 4), ':', toString(number)),
               if(number % 5 = 0, '', 'buzz.mentions'), if(number % 5 = 0, -1, number % 4),
               if(number % 5 = 0, -1, number * 37), if(number % 5 = 0, 'rss', ''),
               {sql_strs(DEAD_REASONS)}[1 + {h("number", 1)} % {len(DEAD_REASONS)}],
               concat('{{"event_id": "x:', toString(number), '", "text": "',
                      repeat('lorem ipsum ', 20 + {h("number", 2)} % 300), '"}}') AS payload,
               length(payload), lower(hex(SHA256(payload))), 0,
               addSeconds({sql_time(shape.start)}, toInt64({_seconds(shape, end, "number", n)}))
        FROM numbers({n})"""
    )
    now = end
    sources = [
        [name, f"bench-host:{4000 + k}", "error" if name == "rss" else "running",
         now - timedelta(days=30), now - timedelta(seconds=5 + k), 1_000_000 // (k + 1), k * 3,
         now - timedelta(seconds=5 + k), now - timedelta(minutes=2) if name == "rss" else None,
         "HTTP 503 from https://northsidedaily.example/feed" if name == "rss" else ""]
        for k, name in enumerate(SOURCES)
    ]  # fmt: skip
    client.insert("buzz.source_status", sources, column_names=SOURCE_COLUMNS)
    partitions = [
        [topic, p, 2_500_000 + p, now - timedelta(seconds=2), now - timedelta(seconds=1), "bench:1"]
        for topic in ("buzz.mentions", "buzz.threads", "buzz.signups")
        for p in range(4)
    ]
    client.insert("buzz.stream_partitions", partitions, column_names=PARTITION_COLUMNS)
