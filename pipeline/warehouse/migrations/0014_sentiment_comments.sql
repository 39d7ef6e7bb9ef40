-- Sentiment is now a model trained on labelled tweets (docs/scoring.md section 2), not VADER, and
-- a post counts as negative at -0.45 or below: the comments say so. Views are recreated as they
-- were, with only their comments changed.
ALTER TABLE buzz.mention_scores
    COMMENT COLUMN sentiment 'Tone of the text in [-1, 1] from the sentiment model (docs/scoring.md section 2)',
    COMMENT COLUMN negative '1 when sentiment <= -0.45, the negative cut-off of the sentiment model (docs/scoring.md section 2)';

ALTER TABLE buzz.buzz_minutes
    COMMENT COLUMN negative_share 'Share of mentions with sentiment <= -0.45 (negative by the sentiment model)';

CREATE OR REPLACE VIEW buzz.subject_mentions_per_minute
(
    subject String COMMENT 'Tracked subject (campaign subject id)',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions of the subject (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors who mentioned it',
    negative_mentions UInt64 COMMENT 'Distinct mentions with sentiment <= -0.45 (negative by the sentiment model)',
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

CREATE OR REPLACE VIEW buzz.subject_mentions_per_hour
(
    subject String COMMENT 'Tracked subject (campaign subject id)',
    hour DateTime('UTC') COMMENT 'Hour of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions of the subject (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors who mentioned it',
    negative_mentions UInt64 COMMENT 'Distinct mentions with sentiment <= -0.45 (negative by the sentiment model)',
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

CREATE OR REPLACE VIEW buzz.subject_mentions_per_day
(
    subject String COMMENT 'Tracked subject (campaign subject id)',
    day Date COMMENT 'Day of event time (UTC)',
    mentions UInt64 COMMENT 'Distinct mentions of the subject (replays counted once)',
    authors UInt64 COMMENT 'Distinct authors who mentioned it',
    negative_mentions UInt64 COMMENT 'Distinct mentions with sentiment <= -0.45 (negative by the sentiment model)',
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

CREATE OR REPLACE VIEW buzz.mention_scores_latest
(
    event_id String COMMENT 'The mention (buzz.mentions.event_id)',
    subject String COMMENT 'Tracked subject the mention talks about',
    minute DateTime('UTC') COMMENT 'occurred_at floored to the minute (UTC)',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    author_id String COMMENT 'Platform id of the author',
    terms Array(String) COMMENT 'Campaign terms of this subject found in the text or hashtags',
    sentiment Float64 COMMENT 'Tone of the text in [-1, 1] from the sentiment model',
    negative UInt8 COMMENT '1 when sentiment <= -0.45, the negative cut-off of the sentiment model (docs/scoring.md section 2)',
    engagement_weight Float64 COMMENT '1 + log10(1 + likes + 2 replies + 2 reshares + 2 quotes)',
    validator String COMMENT 'Validator key of the author (empty if not a validator)'
)
AS SELECT
    event_id, subject, minute, occurred_at, author_id, terms, sentiment, negative,
    engagement_weight, validator
FROM buzz.mention_scores FINAL
COMMENT 'buzz.mention_scores with replays collapsed: one row per (mention, subject)';
