-- What the Now and Health pages count over long windows, computed once per minute instead of on
-- every page view: distinct mentions, per subject set, hashtags and authors, for every closed
-- minute of event time. Exact distinct counts over days of raw rows cost seconds (FINAL and
-- uniqExact over millions of rows); a sum over one row per minute costs milliseconds.
--
-- Why not a rollup fed by a materialised view on every insert: a replayed mention sits twice in
-- the raw tables until a merge, and a count() or sum() kept on insert counts it twice for ever
-- (see 0010). So the minutes are *sealed* from the de-duplicated tables (FINAL) by a refreshable
-- materialised view, and each sealed minute keeps the fingerprint of the raw rows it was computed
-- from: their count and the sum of their write times (sunk_at, scored_at), read cheaply from the
-- projections below. A replay, late data, a merge that drops a duplicate or a delete changes a
-- minute's fingerprint; the refresh then seals that minute again, and until it has, readers
-- (dashboard/queries/sealed.py) count that minute from the raw tables. A sealed minute whose
-- fingerprint still matches is exactly what the raw tables would give.
--
-- Cost: no materialised view on the worker's inserts; the two projections add a few per cent to
-- inserts into buzz.mentions and buzz.mention_scores (measured in docs/operations.md), and the
-- refresh runs once a minute (re-sealing at most one day of minutes per run, newest first).

ALTER TABLE buzz.mentions MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE buzz.mention_scores MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

ALTER TABLE buzz.mentions ADD PROJECTION IF NOT EXISTS minute_fingerprint
(
    SELECT toStartOfMinute(occurred_at), count(), sum(toUnixTimestamp64Milli(sunk_at))
    GROUP BY toStartOfMinute(occurred_at)
);
ALTER TABLE buzz.mention_scores ADD PROJECTION IF NOT EXISTS minute_fingerprint
(
    SELECT minute, count(), sum(toUnixTimestamp64Milli(scored_at))
    GROUP BY minute
);
ALTER TABLE buzz.mentions MATERIALIZE PROJECTION minute_fingerprint;
ALTER TABLE buzz.mention_scores MATERIALIZE PROJECTION minute_fingerprint;

CREATE TABLE IF NOT EXISTS buzz.sealed_minutes
(
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    score_rows UInt64 COMMENT 'Fingerprint: rows of buzz.mention_scores in the minute (replays included) when sealed',
    score_stamp Int64 COMMENT 'Fingerprint: sum of their scored_at in milliseconds',
    mention_rows UInt64 COMMENT 'Fingerprint: rows of buzz.mentions in the minute (replays included) when sealed',
    mention_stamp Int64 COMMENT 'Fingerprint: sum of their sunk_at in milliseconds',
    mentions UInt32 COMMENT 'Distinct mentions posted in the minute (buzz.mentions FINAL)',
    combos Array(Array(LowCardinality(String))) COMMENT 'Each set of subjects a mention of the minute talks about (sorted subject ids)',
    combo_mentions Array(UInt32) COMMENT 'Distinct mentions talking about exactly that set, parallel to combos',
    tag_combos Array(Array(LowCardinality(String))) COMMENT 'Subject set of each hashtag count, parallel to tag_names',
    tag_names Array(String) COMMENT 'Hashtags used by mentions of that subject set',
    tag_counts Array(UInt32) COMMENT 'Uses of the hashtag by mentions of that subject set (buzz.mentions FINAL)',
    author_subjects Array(LowCardinality(String)) COMMENT 'Subject of each author entry, parallel to author_ids',
    author_ids Array(String) COMMENT 'Authors who mentioned the subject in the minute',
    author_last Array(DateTime64(3, 'UTC')) COMMENT 'Their latest post about it in the minute',
    computed_at DateTime64(3, 'UTC') COMMENT 'When the minute was sealed; the latest seal of a minute wins'
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY minute
COMMENT 'One row per closed minute of event time, sealed from the de-duplicated raw tables with the fingerprint of the rows it came from (kept by buzz.sealed_minutes_refresh; valid only while the fingerprint matches)';

CREATE TABLE IF NOT EXISTS buzz.author_last_seen
(
    subject LowCardinality(String) COMMENT 'Tracked subject (campaign subject id)',
    author_id String COMMENT 'Platform id of the author',
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC')) COMMENT 'Latest post of the author about the subject in a sealed minute'
)
ENGINE = AggregatingMergeTree
ORDER BY (subject, author_id)
COMMENT 'Latest sealed post of each author per subject: authors active since T are those with last_seen >= T (plus the minutes not sealed yet)';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.author_last_seen_mv TO buzz.author_last_seen
AS SELECT subject, author_id, max(last) AS last_seen
FROM buzz.sealed_minutes
ARRAY JOIN author_subjects AS subject, author_ids AS author_id, author_last AS last
GROUP BY subject, author_id
COMMENT 'Keeps buzz.author_last_seen up to date on every minute sealed into buzz.sealed_minutes';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.sealed_minutes_refresh
REFRESH EVERY 1 MINUTE APPEND TO buzz.sealed_minutes
AS
WITH
    (
        SELECT (
            (SELECT (count(), sum(toUnixTimestamp64Milli(scored_at))) FROM buzz.mention_scores
             WHERE minute < toStartOfMinute(now()) - INTERVAL 3 HOUR),
            (SELECT (count(), sum(toUnixTimestamp64Milli(sunk_at))) FROM buzz.mentions
             WHERE toStartOfMinute(occurred_at) < toStartOfMinute(now()) - INTERVAL 3 HOUR)
        ) != (
            SELECT ((sum(score_rows), sum(score_stamp)), (sum(mention_rows), sum(mention_stamp)))
            FROM buzz.sealed_minutes FINAL
            WHERE minute < toStartOfMinute(now()) - INTERVAL 3 HOUR
        )
    ) AS older_changed,
    fingerprints AS (
        -- Minutes of the last three hours every run; older ones only when their fingerprints,
        -- added up, no longer match the sealed ones (late data, a replay, a merge, a delete).
        SELECT minute, sum(sr) AS score_rows, sum(ss) AS score_stamp, sum(mr) AS mention_rows,
               sum(ms) AS mention_stamp
        FROM (
            SELECT minute, count() AS sr, sum(toUnixTimestamp64Milli(scored_at)) AS ss,
                   toUInt64(0) AS mr, toInt64(0) AS ms
            FROM buzz.mention_scores
            WHERE minute < toStartOfMinute(now()) - INTERVAL 1 MINUTE
              AND (minute >= toStartOfMinute(now()) - INTERVAL 3 HOUR OR (SELECT older_changed))
            GROUP BY minute
            UNION ALL
            SELECT toStartOfMinute(occurred_at) AS minute, toUInt64(0), toInt64(0), count(),
                   sum(toUnixTimestamp64Milli(sunk_at))
            FROM buzz.mentions
            WHERE toStartOfMinute(occurred_at) < toStartOfMinute(now()) - INTERVAL 1 MINUTE
              AND (toStartOfMinute(occurred_at) >= toStartOfMinute(now()) - INTERVAL 3 HOUR
                   OR (SELECT older_changed))
            GROUP BY minute
        )
        GROUP BY minute
    ),
    stale AS (
        SELECT * FROM fingerprints
        WHERE (minute, score_rows, score_stamp, mention_rows, mention_stamp) NOT IN (
            SELECT minute, score_rows, score_stamp, mention_rows, mention_stamp
            FROM buzz.sealed_minutes FINAL
        )
        ORDER BY minute DESC
        LIMIT 1440
    ),
    scored AS (
        SELECT minute, event_id, arraySort(groupUniqArray(subject)) AS combo
        FROM buzz.mention_scores FINAL
        WHERE minute IN (SELECT minute FROM stale)
        GROUP BY minute, event_id
    ),
    posts AS (
        SELECT toStartOfMinute(occurred_at) AS minute, event_id, hashtags
        FROM buzz.mentions FINAL
        WHERE toStartOfMinute(occurred_at) IN (SELECT minute FROM stale)
    ),
    per_combo AS (
        SELECT minute, groupArray(combo) AS combos, groupArray(n) AS combo_mentions
        FROM (SELECT minute, combo, toUInt32(count()) AS n FROM scored GROUP BY minute, combo)
        GROUP BY minute
    ),
    per_minute AS (
        SELECT minute, toUInt32(count()) AS mentions FROM posts GROUP BY minute
    ),
    per_tag AS (
        SELECT minute, groupArray(combo) AS tag_combos, groupArray(tag) AS tag_names,
               groupArray(n) AS tag_counts
        FROM (
            SELECT p.minute AS minute, s.combo AS combo, tag, toUInt32(count()) AS n
            FROM posts AS p ARRAY JOIN p.hashtags AS tag
            INNER JOIN scored AS s ON s.minute = p.minute AND s.event_id = p.event_id
            GROUP BY minute, combo, tag
        )
        GROUP BY minute
    ),
    per_author AS (
        SELECT minute, groupArray(subject) AS author_subjects, groupArray(author_id) AS author_ids,
               groupArray(last) AS author_last
        FROM (
            SELECT minute, subject, author_id, max(occurred_at) AS last
            FROM buzz.mention_scores FINAL
            WHERE minute IN (SELECT minute FROM stale)
            GROUP BY minute, subject, author_id
        )
        GROUP BY minute
    )
SELECT f.minute AS minute, f.score_rows AS score_rows, f.score_stamp AS score_stamp,
       f.mention_rows AS mention_rows, f.mention_stamp AS mention_stamp,
       m.mentions AS mentions, c.combos AS combos, c.combo_mentions AS combo_mentions,
       t.tag_combos AS tag_combos, t.tag_names AS tag_names, t.tag_counts AS tag_counts,
       a.author_subjects AS author_subjects, a.author_ids AS author_ids,
       a.author_last AS author_last, now64(3) AS computed_at
FROM stale AS f
LEFT JOIN per_minute AS m ON m.minute = f.minute
LEFT JOIN per_combo AS c ON c.minute = f.minute
LEFT JOIN per_tag AS t ON t.minute = f.minute
LEFT JOIN per_author AS a ON a.minute = f.minute
COMMENT 'Once a minute: seals every closed minute whose raw rows changed since it was sealed (at most one day of minutes per run, newest first)';
