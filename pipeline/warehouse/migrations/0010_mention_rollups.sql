-- Rollups of mentions per subject and per platform, per minute, hour and day, maintained by
-- materialised views. Raw tables are ReplacingMergeTree, so a replayed mention can sit in two
-- parts until a merge, and a materialised view sees every insert: a count() or sum() rollup would
-- count a replay twice, for ever. These rollups keep only replay-proof aggregates: states of
-- uniqExact over event_id (and author_id), and max. A replay adds the same event_id to a state
-- that already has it, so the count does not move. The cost: a uniqExact state keeps a 128-bit
-- hash per distinct mention per bucket (about 16 bytes x mentions x 3 grains), and sums of
-- engagement or tone cannot be rolled up this way (use buzz.buzz_minutes, written per closed
-- minute by the worker, for tone and weighted volume). Backfills read the raw tables without
-- FINAL for the same reason: duplicates are harmless, so re-running this migration is too.

CREATE TABLE IF NOT EXISTS buzz.rollup_subject_minute
(
    subject LowCardinality(String) COMMENT 'Tracked subject (campaign subject id)',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mention event_ids (read with uniqExactMerge)',
    authors AggregateFunction(uniqExact, String) COMMENT 'State: distinct author ids (read with uniqExactMerge)',
    negative_mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions with negative tone (read with uniqExactMerge)',
    validator_mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions written by validators (read with uniqExactMerge)'
)
ENGINE = AggregatingMergeTree
ORDER BY (subject, minute)
COMMENT 'Rollup state of buzz.mention_scores per subject and minute; query buzz.subject_mentions_per_minute instead';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.rollup_subject_minute_mv TO buzz.rollup_subject_minute
AS SELECT
    subject, toStartOfMinute(occurred_at) AS minute,
    uniqExactState(event_id) AS mentions, uniqExactState(author_id) AS authors,
    uniqExactStateIf(event_id, negative = 1) AS negative_mentions,
    uniqExactStateIf(event_id, validator != '') AS validator_mentions
FROM buzz.mention_scores
GROUP BY subject, minute
COMMENT 'Keeps buzz.rollup_subject_minute up to date on every insert into buzz.mention_scores';

INSERT INTO buzz.rollup_subject_minute
SELECT
    subject, toStartOfMinute(occurred_at) AS minute,
    uniqExactState(event_id), uniqExactState(author_id),
    uniqExactStateIf(event_id, negative = 1), uniqExactStateIf(event_id, validator != '')
FROM buzz.mention_scores
GROUP BY subject, minute;

CREATE VIEW IF NOT EXISTS buzz.subject_mentions_per_minute
(
    subject String COMMENT 'Tracked subject (campaign subject id)',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions of the subject (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors who mentioned it',
    negative_mentions UInt64 COMMENT 'Distinct mentions with sentiment <= -0.05',
    validator_mentions UInt64 COMMENT 'Distinct mentions written by validators'
)
AS SELECT
    subject, minute,
    uniqExactMerge(mentions) AS mentions, uniqExactMerge(authors) AS authors,
    uniqExactMerge(negative_mentions) AS negative_mentions,
    uniqExactMerge(validator_mentions) AS validator_mentions
FROM buzz.rollup_subject_minute
GROUP BY subject, minute
COMMENT 'Mentions per subject per minute, from a rollup kept by a materialised view (includes minutes the worker has not closed yet)';

CREATE TABLE IF NOT EXISTS buzz.rollup_subject_hour
(
    subject LowCardinality(String) COMMENT 'Tracked subject (campaign subject id)',
    hour DateTime('UTC') COMMENT 'Hour of event time (UTC)',
    mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mention event_ids (read with uniqExactMerge)',
    authors AggregateFunction(uniqExact, String) COMMENT 'State: distinct author ids (read with uniqExactMerge)',
    negative_mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions with negative tone (read with uniqExactMerge)',
    validator_mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions written by validators (read with uniqExactMerge)'
)
ENGINE = AggregatingMergeTree
ORDER BY (subject, hour)
COMMENT 'Rollup state of buzz.mention_scores per subject and hour; query buzz.subject_mentions_per_hour instead';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.rollup_subject_hour_mv TO buzz.rollup_subject_hour
AS SELECT
    subject, toStartOfHour(occurred_at) AS hour,
    uniqExactState(event_id) AS mentions, uniqExactState(author_id) AS authors,
    uniqExactStateIf(event_id, negative = 1) AS negative_mentions,
    uniqExactStateIf(event_id, validator != '') AS validator_mentions
FROM buzz.mention_scores
GROUP BY subject, hour
COMMENT 'Keeps buzz.rollup_subject_hour up to date on every insert into buzz.mention_scores';

INSERT INTO buzz.rollup_subject_hour
SELECT
    subject, toStartOfHour(occurred_at) AS hour,
    uniqExactState(event_id), uniqExactState(author_id),
    uniqExactStateIf(event_id, negative = 1), uniqExactStateIf(event_id, validator != '')
FROM buzz.mention_scores
GROUP BY subject, hour;

CREATE VIEW IF NOT EXISTS buzz.subject_mentions_per_hour
(
    subject String COMMENT 'Tracked subject (campaign subject id)',
    hour DateTime('UTC') COMMENT 'Hour of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions of the subject (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors who mentioned it',
    negative_mentions UInt64 COMMENT 'Distinct mentions with sentiment <= -0.05',
    validator_mentions UInt64 COMMENT 'Distinct mentions written by validators'
)
AS SELECT
    subject, hour,
    uniqExactMerge(mentions) AS mentions, uniqExactMerge(authors) AS authors,
    uniqExactMerge(negative_mentions) AS negative_mentions,
    uniqExactMerge(validator_mentions) AS validator_mentions
FROM buzz.rollup_subject_hour
GROUP BY subject, hour
COMMENT 'Mentions per subject per hour, from a rollup kept by a materialised view (includes minutes the worker has not closed yet)';

CREATE TABLE IF NOT EXISTS buzz.rollup_subject_day
(
    subject LowCardinality(String) COMMENT 'Tracked subject (campaign subject id)',
    day Date COMMENT 'Day of event time (UTC)',
    mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mention event_ids (read with uniqExactMerge)',
    authors AggregateFunction(uniqExact, String) COMMENT 'State: distinct author ids (read with uniqExactMerge)',
    negative_mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions with negative tone (read with uniqExactMerge)',
    validator_mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions written by validators (read with uniqExactMerge)'
)
ENGINE = AggregatingMergeTree
ORDER BY (subject, day)
COMMENT 'Rollup state of buzz.mention_scores per subject and day; query buzz.subject_mentions_per_day instead';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.rollup_subject_day_mv TO buzz.rollup_subject_day
AS SELECT
    subject, toDate(occurred_at) AS day,
    uniqExactState(event_id) AS mentions, uniqExactState(author_id) AS authors,
    uniqExactStateIf(event_id, negative = 1) AS negative_mentions,
    uniqExactStateIf(event_id, validator != '') AS validator_mentions
FROM buzz.mention_scores
GROUP BY subject, day
COMMENT 'Keeps buzz.rollup_subject_day up to date on every insert into buzz.mention_scores';

INSERT INTO buzz.rollup_subject_day
SELECT
    subject, toDate(occurred_at) AS day,
    uniqExactState(event_id), uniqExactState(author_id),
    uniqExactStateIf(event_id, negative = 1), uniqExactStateIf(event_id, validator != '')
FROM buzz.mention_scores
GROUP BY subject, day;

CREATE VIEW IF NOT EXISTS buzz.subject_mentions_per_day
(
    subject String COMMENT 'Tracked subject (campaign subject id)',
    day Date COMMENT 'Day of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions of the subject (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors who mentioned it',
    negative_mentions UInt64 COMMENT 'Distinct mentions with sentiment <= -0.05',
    validator_mentions UInt64 COMMENT 'Distinct mentions written by validators'
)
AS SELECT
    subject, day,
    uniqExactMerge(mentions) AS mentions, uniqExactMerge(authors) AS authors,
    uniqExactMerge(negative_mentions) AS negative_mentions,
    uniqExactMerge(validator_mentions) AS validator_mentions
FROM buzz.rollup_subject_day
GROUP BY subject, day
COMMENT 'Mentions per subject per day, from a rollup kept by a materialised view (includes minutes the worker has not closed yet)';

CREATE TABLE IF NOT EXISTS buzz.rollup_platform_minute
(
    platform LowCardinality(String) COMMENT 'Source platform',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mention event_ids (read with uniqExactMerge)',
    authors AggregateFunction(uniqExact, String) COMMENT 'State: distinct author ids (read with uniqExactMerge)',
    reshares AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions that reshare or quote another post',
    replies AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions that reply to another post',
    max_author_audience SimpleAggregateFunction(max, UInt64) COMMENT 'Largest author audience seen'
)
ENGINE = AggregatingMergeTree
ORDER BY (platform, minute)
COMMENT 'Rollup state of buzz.mentions per platform and minute; query buzz.platform_mentions_per_minute instead';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.rollup_platform_minute_mv TO buzz.rollup_platform_minute
AS SELECT
    platform, toStartOfMinute(occurred_at) AS minute,
    uniqExactState(event_id) AS mentions, uniqExactState(author_id) AS authors,
    uniqExactStateIf(event_id, reshare_of IS NOT NULL) AS reshares,
    uniqExactStateIf(event_id, reply_to IS NOT NULL) AS replies,
    max(author_audience) AS max_author_audience
FROM buzz.mentions
GROUP BY platform, minute
COMMENT 'Keeps buzz.rollup_platform_minute up to date on every insert into buzz.mentions';

INSERT INTO buzz.rollup_platform_minute
SELECT
    platform, toStartOfMinute(occurred_at) AS minute,
    uniqExactState(event_id), uniqExactState(author_id),
    uniqExactStateIf(event_id, reshare_of IS NOT NULL),
    uniqExactStateIf(event_id, reply_to IS NOT NULL), max(author_audience)
FROM buzz.mentions
GROUP BY platform, minute;

CREATE VIEW IF NOT EXISTS buzz.platform_mentions_per_minute
(
    platform String COMMENT 'Source platform',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors',
    reshares UInt64 COMMENT 'Distinct mentions that reshare or quote another post',
    replies UInt64 COMMENT 'Distinct mentions that reply to another post',
    max_author_audience UInt64 COMMENT 'Largest author audience seen'
)
AS SELECT
    platform, minute,
    uniqExactMerge(mentions) AS mentions, uniqExactMerge(authors) AS authors,
    uniqExactMerge(reshares) AS reshares, uniqExactMerge(replies) AS replies,
    max(max_author_audience) AS max_author_audience
FROM buzz.rollup_platform_minute
GROUP BY platform, minute
COMMENT 'Mentions per platform per minute, from a rollup kept by a materialised view';

CREATE TABLE IF NOT EXISTS buzz.rollup_platform_hour
(
    platform LowCardinality(String) COMMENT 'Source platform',
    hour DateTime('UTC') COMMENT 'Hour of event time (UTC)',
    mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mention event_ids (read with uniqExactMerge)',
    authors AggregateFunction(uniqExact, String) COMMENT 'State: distinct author ids (read with uniqExactMerge)',
    reshares AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions that reshare or quote another post',
    replies AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions that reply to another post',
    max_author_audience SimpleAggregateFunction(max, UInt64) COMMENT 'Largest author audience seen'
)
ENGINE = AggregatingMergeTree
ORDER BY (platform, hour)
COMMENT 'Rollup state of buzz.mentions per platform and hour; query buzz.platform_mentions_per_hour instead';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.rollup_platform_hour_mv TO buzz.rollup_platform_hour
AS SELECT
    platform, toStartOfHour(occurred_at) AS hour,
    uniqExactState(event_id) AS mentions, uniqExactState(author_id) AS authors,
    uniqExactStateIf(event_id, reshare_of IS NOT NULL) AS reshares,
    uniqExactStateIf(event_id, reply_to IS NOT NULL) AS replies,
    max(author_audience) AS max_author_audience
FROM buzz.mentions
GROUP BY platform, hour
COMMENT 'Keeps buzz.rollup_platform_hour up to date on every insert into buzz.mentions';

INSERT INTO buzz.rollup_platform_hour
SELECT
    platform, toStartOfHour(occurred_at) AS hour,
    uniqExactState(event_id), uniqExactState(author_id),
    uniqExactStateIf(event_id, reshare_of IS NOT NULL),
    uniqExactStateIf(event_id, reply_to IS NOT NULL), max(author_audience)
FROM buzz.mentions
GROUP BY platform, hour;

CREATE VIEW IF NOT EXISTS buzz.platform_mentions_per_hour
(
    platform String COMMENT 'Source platform',
    hour DateTime('UTC') COMMENT 'Hour of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors',
    reshares UInt64 COMMENT 'Distinct mentions that reshare or quote another post',
    replies UInt64 COMMENT 'Distinct mentions that reply to another post',
    max_author_audience UInt64 COMMENT 'Largest author audience seen'
)
AS SELECT
    platform, hour,
    uniqExactMerge(mentions) AS mentions, uniqExactMerge(authors) AS authors,
    uniqExactMerge(reshares) AS reshares, uniqExactMerge(replies) AS replies,
    max(max_author_audience) AS max_author_audience
FROM buzz.rollup_platform_hour
GROUP BY platform, hour
COMMENT 'Mentions per platform per hour, from a rollup kept by a materialised view';

CREATE TABLE IF NOT EXISTS buzz.rollup_platform_day
(
    platform LowCardinality(String) COMMENT 'Source platform',
    day Date COMMENT 'Day of event time (UTC)',
    mentions AggregateFunction(uniqExact, String) COMMENT 'State: distinct mention event_ids (read with uniqExactMerge)',
    authors AggregateFunction(uniqExact, String) COMMENT 'State: distinct author ids (read with uniqExactMerge)',
    reshares AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions that reshare or quote another post',
    replies AggregateFunction(uniqExact, String) COMMENT 'State: distinct mentions that reply to another post',
    max_author_audience SimpleAggregateFunction(max, UInt64) COMMENT 'Largest author audience seen'
)
ENGINE = AggregatingMergeTree
ORDER BY (platform, day)
COMMENT 'Rollup state of buzz.mentions per platform and day; query buzz.platform_mentions_per_day instead';

CREATE MATERIALIZED VIEW IF NOT EXISTS buzz.rollup_platform_day_mv TO buzz.rollup_platform_day
AS SELECT
    platform, toDate(occurred_at) AS day,
    uniqExactState(event_id) AS mentions, uniqExactState(author_id) AS authors,
    uniqExactStateIf(event_id, reshare_of IS NOT NULL) AS reshares,
    uniqExactStateIf(event_id, reply_to IS NOT NULL) AS replies,
    max(author_audience) AS max_author_audience
FROM buzz.mentions
GROUP BY platform, day
COMMENT 'Keeps buzz.rollup_platform_day up to date on every insert into buzz.mentions';

INSERT INTO buzz.rollup_platform_day
SELECT
    platform, toDate(occurred_at) AS day,
    uniqExactState(event_id), uniqExactState(author_id),
    uniqExactStateIf(event_id, reshare_of IS NOT NULL),
    uniqExactStateIf(event_id, reply_to IS NOT NULL), max(author_audience)
FROM buzz.mentions
GROUP BY platform, day;

CREATE VIEW IF NOT EXISTS buzz.platform_mentions_per_day
(
    platform String COMMENT 'Source platform',
    day Date COMMENT 'Day of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors',
    reshares UInt64 COMMENT 'Distinct mentions that reshare or quote another post',
    replies UInt64 COMMENT 'Distinct mentions that reply to another post',
    max_author_audience UInt64 COMMENT 'Largest author audience seen'
)
AS SELECT
    platform, day,
    uniqExactMerge(mentions) AS mentions, uniqExactMerge(authors) AS authors,
    uniqExactMerge(reshares) AS reshares, uniqExactMerge(replies) AS replies,
    max(max_author_audience) AS max_author_audience
FROM buzz.rollup_platform_day
GROUP BY platform, day
COMMENT 'Mentions per platform per day, from a rollup kept by a materialised view';
