"""Seeding mentions and everything the worker derives per mention, inside the warehouse.

Mention number ``i`` is a pure function of ``i`` (hashes of it), so its raw row, its score rows,
its validator cascade and the posts that reshare it can each be generated on their own, chunk by
chunk, with ``INSERT ... SELECT ... FROM numbers()``. Mentions come in time order, chunk after
chunk, as a running worker writes them, so the warehouse's parts look like a real one's.

- time: 30 days with a daily rhythm (a time warp of the row number), plus spikes: every 60 hours
  20 minutes of extra mentions about the candidate (an attack: negative, #scandal), a rival or
  an issue, the newest one 30 minutes before the seed ends;
- every 1000th mention is a validator's post, and every 10th mention after it reshares or
  replies to that post or to an earlier member of its cascade (depth up to ~6);
- otherwise 20% reshare and 10% reply to one of the previous 3000 mentions;
- subjects: each mention names the candidate (50%), a rival (30%), each issue (20%), or none;
- 0.3% of mentions are delivered twice (a replay), in a later part.
"""

from __future__ import annotations

from datetime import datetime

from clickhouse_connect.driver.client import Client

from pipeline.bench_dashboard.shape import (
    BURST_PERMILLE,
    EPISODE_EVERY,
    EPISODE_SECONDS,
    ID0,
    LIVE_EPISODE_AGO,
    MEMBER_STEP,
    REPLAY_PERMILLE,
    VALIDATOR_OFFSET,
    VALIDATOR_PERIOD,
    Shape,
    h,
    rhythm_amplitude,
    sql_nums,
    sql_str,
    sql_strs,
    sql_time,
    u,
)

PLATFORMS = ["x"] * 11 + ["bluesky"] * 4 + ["mastodon"] * 3 + ["rss"] * 2
FIRST = (
    "Maria", "James", "Aisha", "Tom", "Priya", "Kevin", "Lucia", "Dmitri", "Grace", "Omar",
    "Hannah", "Luis", "Mei", "Jamal", "Sarah", "Ethan", "Fatima", "Ben", "Rosa", "Tyler",
)  # fmt: skip
LAST = (
    "Lopez", "Nguyen", "Patel", "Olsen", "Brooks", "Garcia", "Chen", "Walsh", "Haddad",
    "Rivera", "Kowalski", "Johnson", "Tanaka", "Martin", "Osei", "Murphy",
)  # fmt: skip
OPENERS = (
    "Just got back from the town hall with", "Honest question about", "Watching the forum on",
    "Can we talk about", "Reading the new filing from", "Big night for", "Not impressed with",
    "Proud to knock doors for", "So tired of the mailers about", "Heard on the radio:",
)  # fmt: skip
MIDDLES = (
    "keeps saying the plan is funded, but nobody has shown the numbers yet.",
    "actually answered every question tonight, even the hard ones.",
    "was the only one talking seriously about what this district needs.",
    "dodged the question twice and the room noticed.",
    "will hold a listening session Thursday at the Eastside library.",
    "is landing with people who are tired of being ignored.",
)  # fmt: skip
ENDINGS = ("Thoughts?", "Worth a read.", "We deserve better.", "Let's go.", "Details below.", "")
TAGS = (
    "debate", "vote", "election", "northside", "localnews", "senate", "volunteer", "transit",
    "rent", "kimforsenate", "reyes2026", "fundtheriverline", "homesforall", "gotv", "district9",
)  # fmt: skip
ATTACK_TAG = "kimscandal"
DOMAINS = (
    "metroherald.example", "capitolwire.example", "kxnw.example", "civicbeat.example",
    "capitolscoop.example", "campaign.example",
)  # fmt: skip
AUTHORS = 250_000

MENTION_COLUMNS = (
    "event_id", "platform", "occurred_at", "ingested_at", "author_id", "author_handle",
    "author_name", "author_audience", "text", "url", "lang", "likes", "reshares", "replies",
    "quotes", "reshare_of", "reply_to", "links", "hashtags", "truncated", "sentiment", "sunk_at",
)  # fmt: skip
SCORE_COLUMNS = (
    "event_id", "subject", "minute", "occurred_at", "author_id", "terms", "sentiment", "negative",
    "engagement_weight", "audience_weight", "validator", "reshare_of", "reply_to", "scored_at",
)  # fmt: skip


def in_cascade(j: str) -> str:
    """Whether mention ``j`` is a validator post or a member of its cascade (posted on x)."""
    phase = f"({j} % {VALIDATOR_PERIOD})"
    return f"({phase} >= {VALIDATOR_OFFSET} AND ({phase} - {VALIDATOR_OFFSET}) % {MEMBER_STEP} = 0)"


def event_id(j: str) -> str:
    platform = f"if({in_cascade(j)}, 'x', {sql_strs(PLATFORMS)}[1 + {h(j, 2)} % {len(PLATFORMS)}])"
    return f"concat({platform}, ':', toString({ID0} + {j}))"


def time_sql(shape: Shape, j: str) -> str:
    """Seconds after ``shape.start`` of mention ``j`` before spikes are placed.

    Rows up to ``shape.mentions`` cover 30 days: s is uniform, and t = s + A(sin(w(s + d)) -
    sin(wd)) warps it into a daily rhythm (t(0) = 0 and t(30 days) = 30 days). Later rows (the
    top-up written just before timing) continue at the average rate after the 30 days.
    """
    n, span, amp, d = shape.mentions, shape.span, rhythm_amplitude(), shape.delta
    s = f"({span!r} * ({j} + 0.5) / {n})"
    w = "(2 * pi() / 86400)"
    warped = f"({s} + {amp!r} * (sin({w} * ({s} + {d!r})) - sin({w} * {d!r})))"
    later = f"({span!r} + ({j} - {n} + 0.5) * {shape.seconds_per_mention!r})"
    return f"if({j} < {n}, {warped}, {later})"


def base_select(shape: Shape, index: str, source: str, replay: bool = False) -> str:
    """Every column of mention ``i`` (``index`` over ``source``), as a SELECT to read from."""
    last_ep, span = shape.episodes - 1, shape.span
    ep_subjects = sql_strs(shape.episode_subjects)
    sids, terms = sql_strs(shape.subject_ids), shape.subject_terms()
    vkeys = sql_strs(v.key for v in shape.validators)
    vhandles = sql_strs(v.handle for v in shape.validators)
    vnames = sql_strs(v.name for v in shape.validators)
    vaud = sql_nums(v.audience for v in shape.validators)
    nv = len(shape.validators)
    delay = 600_000 if replay else 0
    parent_member = (
        f"if(member_no % 3 = 0 OR member_no < 2, root_i, "
        f"root_i + {MEMBER_STEP} * intDiv(member_no, 2))"
    )
    other = f"(i - 1 - {h('i', 8)} % 3000)"
    return f"""
    SELECT
        {index} AS i,
        i % {VALIDATOR_PERIOD} AS phase,
        phase = {VALIDATOR_OFFSET} AS is_root,
        NOT is_root AND {in_cascade("i")} AS is_member,
        intDiv(phase - {VALIDATOR_OFFSET}, {MEMBER_STEP}) AS member_no,
        i - phase + {VALIDATOR_OFFSET} AS root_i,
        intDiv(i, {VALIDATOR_PERIOD}) % {nv} AS v,
        i < {shape.mentions} AND NOT is_root AND NOT is_member
            AND {h("i", 5)} % 1000 < {BURST_PERMILLE} AS is_burst,
        {time_sql(shape, "i")} AS t_plain,
        toUInt32(least({last_ep}, greatest(0,
            round(({span!r} - {LIVE_EPISODE_AGO} - t_plain) / {EPISODE_EVERY})))) AS ep,
        ep % 3 = 0 AS attack,
        if(is_burst,
           {span!r} - {LIVE_EPISODE_AGO} - ep * {EPISODE_EVERY} + {u("i", 6)} * {EPISODE_SECONDS},
           t_plain) AS t,
        addMilliseconds({sql_time(shape.start)}, toInt64(t * 1000)) AS occurred_at,
        least(addMilliseconds(occurred_at, 400 + {h("i", 46)} % 1500 + {delay}), now64(3))
            AS ingested_at,
        least(addMilliseconds(ingested_at, 300 + {h("i", 47)} % 1500), now64(3)) AS sunk_at,
        {event_id("i")} AS event_id,
        splitByChar(':', event_id)[1] AS platform,
        toUInt64(pow({u("i", 9)}, 2.2) * {AUTHORS}) AS a,
        if(is_root, concat('v', toString(v)), toString(1000000 + a)) AS author_id,
        {sql_strs(FIRST)}[1 + a % {len(FIRST)}] AS first_name,
        {sql_strs(LAST)}[1 + intDiv(a, {len(FIRST)}) % {len(LAST)}] AS last_name,
        if(is_root, {vhandles}[v + 1],
           concat(lower(first_name), '_', lower(last_name), toString(a % 97))) AS author_handle,
        if(is_root, {vnames}[v + 1], concat(first_name, ' ', last_name)) AS author_name,
        if(is_root, toUInt64({vaud}[v + 1]),
           toUInt64(pow(10, 1 + {u("a", 10)} * 4.3))) AS author_audience,
        if(is_root, {vkeys}[v + 1], '') AS validator,
        if(is_burst, [{ep_subjects}[ep % 3 + 1]],
           arrayFilter((s, p, k) -> cityHash64(i, 20 + k) % 1000 < p,
                       {sids}, {shape.subject_permille()}, range({len(shape.subject_ids)})))
            AS subjects,
        if(is_burst AND attack AND {u("i", 13)} < 0.8, -(0.2 + {u("i", 14)} * 0.7),
           round(greatest(-1., least(1., ({u("i", 13)} * 2 - 1) * 0.85 + 0.05)), 4)) AS sentiment,
        arrayConcat(
            if(is_burst AND attack AND {u("i", 15)} < 0.6, [{sql_str(ATTACK_TAG)}], []),
            if({h("i", 11)} % 100 < 35, [{sql_strs(TAGS)}[1 + {h("i", 12)} % {len(TAGS)}]], [])
        ) AS hashtags,
        if({h("i", 16)} % 100 < 20,
           [concat('https://', {sql_strs(DOMAINS)}[1 + {h("i", 17)} % {len(DOMAINS)}],
                   '/story/', toString({h("i", 18)} % 50000))], []) AS links,
        concat({sql_strs(OPENERS)}[1 + {h("i", 30)} % {len(OPENERS)}], ' ',
               if(empty(subjects), 'the race',
                  arrayStringConcat(arrayMap(s -> {terms}[indexOf({sids}, s)], subjects), ' and ')),
               ' ', {sql_strs(MIDDLES)}[1 + {h("i", 31)} % {len(MIDDLES)}],
               ' ', {sql_strs(ENDINGS)}[1 + {h("i", 32)} % {len(ENDINGS)}],
               arrayStringConcat(arrayMap(x -> concat(' #', x), hashtags))) AS text,
        concat('https://', platform, '.example/', author_handle, '/status/',
               toString({ID0} + i)) AS url,
        if({h("i", 44)} % 100 < 95, 'en', 'es') AS lang,
        toUInt64(floor(pow({u("i", 40)}, 8) * 20000)) AS likes,
        toUInt64(floor(pow({u("i", 41)}, 9) * 3000)) AS reshares,
        toUInt64(floor(pow({u("i", 42)}, 9) * 800)) AS replies,
        toUInt64(floor(pow({u("i", 43)}, 10) * 300)) AS quotes,
        {h("i", 7)} % 100 AS kind_draw,
        multiIf(is_member AND member_no % 4 != 3, {event_id(parent_member)},
                NOT is_member AND NOT is_root AND kind_draw < 20 AND i > 3000,
                {event_id(other)}, NULL) AS reshare_of,
        multiIf(is_member AND member_no % 4 = 3, {event_id(parent_member)},
                NOT is_member AND NOT is_root AND kind_draw >= 20 AND kind_draw < 30
                AND i > 3000, {event_id(other)}, NULL) AS reply_to,
        if({h("i", 45)} % 1000 = 0, ['text'], []) AS truncated,
        addMilliseconds(sunk_at, 50) AS scored_at
    FROM {source}
    """


def _chunk_source(first: int, count: int, replay: bool) -> str:
    rows = f"numbers({first}, {count})"
    if replay:
        return (
            f"(SELECT number FROM {rows} WHERE cityHash64(number, 99) % 1000 < {REPLAY_PERMILLE})"
        )
    return rows


def insert_mentions(client: Client, shape: Shape, first: int, count: int) -> None:
    """Mentions ``first`` .. ``first + count - 1`` with their score rows, and their replays."""
    for replay in (False, True):
        base = base_select(shape, "number", _chunk_source(first, count, replay), replay)
        client.command(
            f"INSERT INTO buzz.mentions ({', '.join(MENTION_COLUMNS)}) "
            f"SELECT {', '.join(MENTION_COLUMNS)} FROM ({base})"
        )
        terms = shape.subject_terms()
        sids = sql_strs(shape.subject_ids)
        client.command(
            f"""INSERT INTO buzz.mention_scores ({", ".join(SCORE_COLUMNS)})
            SELECT event_id, subject, toStartOfMinute(occurred_at), occurred_at, author_id,
                   [{terms}[indexOf({sids}, subject)]], sentiment, sentiment <= -0.05,
                   1 + log10(1 + likes + 2 * replies + 2 * reshares + 2 * quotes),
                   1 + log10(1 + author_audience), validator, reshare_of, reply_to, scored_at
            FROM ({base}) ARRAY JOIN subjects AS subject"""
        )


def live_mentions(shape: Shape, now: datetime) -> int:
    """How many mentions continue the stream from the seed's end to ``now`` (the top-up)."""
    return max(0, int((now - shape.end).total_seconds() / shape.seconds_per_mention))


def insert_validator_reach(client: Client, shape: Shape, total: int) -> None:
    """One row per validator post, in three versions as its cascade grew (latest wins)."""
    roots = (total - VALIDATOR_OFFSET + VALIDATOR_PERIOD - 1) // VALIDATOR_PERIOD
    if roots <= 0:
        return
    members = (VALIDATOR_PERIOD - VALIDATOR_OFFSET - 1) // MEMBER_STEP
    groups = sql_strs(v.group for v in shape.validators)
    trust = sql_nums(v.trust for v in shape.validators)
    base = base_select(
        shape, f"number * {VALIDATOR_PERIOD} + {VALIDATOR_OFFSET}", f"numbers({roots})"
    )
    client.command(
        f"""INSERT INTO buzz.validator_reach (root_id, validator, group_name, subject, posted_at,
            url, posts, direct_audience, cascade_audience, amplifiers, repliers, depth,
            structural_virality, trust_weight, trust_weighted_reach, taking_off, computed_at)
        SELECT event_id, validator, {groups}[v + 1], if(empty(subjects), '', subjects[1]),
               occurred_at, url, toUInt32(1 + n_members) AS posts_in, author_audience,
               author_audience + n_members * 900 + {h("i", 60)} % 20000 AS cascade,
               toUInt32(n_members * 3 / 4), toUInt32(n_members / 4),
               toUInt32(if(n_members = 0, 0, ceil(log2(n_members + 1)))),
               round(1 + log2(n_members + 1) / 3, 3), {trust}[v + 1],
               {trust}[v + 1] * cascade, n_members >= 40,
               least(addSeconds(occurred_at, version * version * 600), {sql_time(shape.end)})
        FROM (
            SELECT *, version, toUInt32(least({members}, greatest(0,
                       intDiv(toInt64({total}) - 1 - toInt64(i), {MEMBER_STEP}))) * version / 3)
                       AS n_members
            FROM ({base}) ARRAY JOIN [1, 2, 3] AS version
        )"""
    )
