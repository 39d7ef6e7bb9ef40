-- Scores computed by the worker's agents (docs/scoring.md). Every table is keyed on what one
-- row describes, so a replay that recomputes a row replaces it instead of adding a second one.
CREATE TABLE IF NOT EXISTS buzz.mention_scores
(
    event_id String COMMENT 'The mention (buzz.mentions.event_id)',
    subject LowCardinality(String) COMMENT 'Tracked subject the mention talks about (campaign subject id)',
    minute DateTime('UTC') COMMENT 'occurred_at floored to the minute (UTC): the buzz bucket',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    author_id String COMMENT 'Platform id of the author',
    terms Array(String) COMMENT 'Campaign terms of this subject found in the text or hashtags',
    sentiment Float64 COMMENT 'VADER compound score of the text in [-1, 1] (docs/scoring.md section 2)',
    negative UInt8 COMMENT '1 when sentiment <= -0.05',
    engagement_weight Float64 COMMENT '1 + log10(1 + likes + 2 replies + 2 reshares + 2 quotes)',
    audience_weight Float64 COMMENT '1 + log10(1 + author audience)',
    validator String COMMENT 'Key of the validator who wrote it (empty if the author is not a validator)',
    reshare_of Nullable(String) COMMENT 'event_id of the post this reshares, if any',
    reply_to Nullable(String) COMMENT 'event_id of the post this replies to, if any',
    scored_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker scored it'
)
ENGINE = ReplacingMergeTree(scored_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (subject, minute, event_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'One row per (mention, subject it talks about) with its tone and weights; query with FINAL';

CREATE TABLE IF NOT EXISTS buzz.buzz_minutes
(
    subject LowCardinality(String) COMMENT 'Tracked subject (campaign subject id)',
    subject_kind LowCardinality(String) COMMENT 'candidate, rival or issue',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    mentions UInt32 COMMENT 'Distinct mentions in the minute',
    unique_authors UInt32 COMMENT 'Distinct authors in the minute',
    engagement_volume Float64 COMMENT 'Sum of engagement weights (every mention counts at least 1)',
    audience_volume Float64 COMMENT 'Sum of audience weights (every mention counts at least 1)',
    sentiment_mean Float64 COMMENT 'Mean sentiment of the mentions in [-1, 1]',
    negative_share Float64 COMMENT 'Share of mentions with sentiment <= -0.05',
    share_of_voice Nullable(Float64) COMMENT 'Share of the minute''s mentions among candidate and rivals (NULL for issues)',
    expected Nullable(Float64) COMMENT 'Normal mentions a minute for this hour of day, from the baseline before this minute (NULL while warming up)',
    expected_std Nullable(Float64) COMMENT 'Spread of the normal level (floored, see docs/scoring.md section 5)',
    anomaly_score Nullable(Float64) COMMENT 'Robust z-score (mentions - expected) / expected_std (NULL while warming up)',
    spike UInt8 COMMENT '1 when the minute is a spike (anomaly_score >= spike_z and at least 5 mentions)',
    attack UInt8 COMMENT '1 when the spike is on the candidate and mostly negative',
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker closed the minute'
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (subject, minute)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Buzz per subject per closed minute (minutes without mentions have no row); one row per (subject, minute)';

CREATE TABLE IF NOT EXISTS buzz.signup_minutes
(
    channel LowCardinality(String) COMMENT 'Signup channel',
    minute DateTime('UTC') COMMENT 'Minute of event time (UTC)',
    signups UInt32 COMMENT 'Distinct signups in the minute',
    expected Nullable(Float64) COMMENT 'Normal signups a minute on this channel for this hour of day (NULL while warming up)',
    anomaly_score Nullable(Float64) COMMENT 'Robust z-score against the normal level (NULL while warming up)',
    surge UInt8 COMMENT '1 when the minute is a surge (anomaly_score >= spike_z and at least 5 signups)',
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker closed the minute'
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (channel, minute)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Signups per channel per closed minute with their anomaly score; one row per (channel, minute)';

CREATE TABLE IF NOT EXISTS buzz.baseline_state
(
    series String COMMENT 'What the baseline learns: a subject id, or signup:<channel>',
    last_minute DateTime('UTC') COMMENT 'Last minute learned into the state',
    state String COMMENT 'BaselineState.to_dict() for this series alone, as JSON',
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker saved it'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY series
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'The learned normal level per series, latest wins; the worker rebuilds its baselines from it at start';

CREATE TABLE IF NOT EXISTS buzz.stream_progress
(
    job LowCardinality(String) COMMENT 'Periodic job: minutes (closing buzz and signup minutes)',
    through DateTime64(3, 'UTC') COMMENT 'Everything up to and including this time is final for the job',
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker saved it'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY job
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'How far each periodic job has got, latest wins; read at start so a restart resumes';

CREATE TABLE IF NOT EXISTS buzz.validators
(
    validator String COMMENT 'Validator key: the name slugged (Mayor Alicia Torres -> mayor-alicia-torres)',
    name String COMMENT 'Name as in the campaign file',
    group_name LowCardinality(String) COMMENT 'Group: local officials, unions, bloggers, ...',
    trust_weight Float64 COMMENT 'How much the campaign trusts this validator (0-10)',
    platforms Array(String) COMMENT 'Platforms, parallel to handles',
    handles Array(String) COMMENT 'Handle on each platform, parallel to platforms',
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker loaded it from the campaign file'
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY validator
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Validators from the campaign file, latest load wins';

CREATE TABLE IF NOT EXISTS buzz.validator_reach
(
    root_id String COMMENT 'The validator post (buzz.mentions.event_id)',
    validator String COMMENT 'Validator key (buzz.validators.validator)',
    group_name LowCardinality(String) COMMENT 'Validator group',
    subject LowCardinality(String) COMMENT 'First tracked subject the post talks about',
    posted_at DateTime64(3, 'UTC') COMMENT 'When the validator posted (event time)',
    url String COMMENT 'Link to the validator post',
    posts UInt32 COMMENT 'Posts in the cascade, the validator post included',
    direct_audience UInt64 COMMENT 'Audience of the validator at post time',
    cascade_audience UInt64 COMMENT 'Validator audience plus each distinct resharer''s audience',
    amplifiers UInt32 COMMENT 'Distinct people (not the validator) who reshared',
    repliers UInt32 COMMENT 'Distinct people (not the validator) who replied',
    depth UInt32 COMMENT 'Longest path from the validator post, in hops',
    structural_virality Float64 COMMENT 'Mean hops between two posts of the cascade (Goel et al. 2016)',
    trust_weight Float64 COMMENT 'Validator trust weight',
    trust_weighted_reach Float64 COMMENT 'trust_weight x cascade_audience',
    taking_off UInt8 COMMENT '1 when the cascade met the take-off rule (docs/scoring.md section 9)',
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker computed this version'
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY root_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Reach of each validator post and its cascade, latest version wins (query with FINAL)';

CREATE TABLE IF NOT EXISTS buzz.thread_scores
(
    thread_id String COMMENT 'Thread (buzz.thread_posts.thread_id)',
    thread_title String COMMENT 'Title of the thread',
    subject LowCardinality(String) COMMENT 'First tracked subject the title or opening post talks about (empty if none)',
    url String COMMENT 'Link to the opening post (or the earliest post seen)',
    first_post_at DateTime64(3, 'UTC') COMMENT 'Earliest post seen',
    last_post_at DateTime64(3, 'UTC') COMMENT 'Latest post seen',
    posts UInt32 COMMENT 'Distinct posts',
    participants UInt32 COMMENT 'Distinct authors',
    substantive_posts UInt32 COMMENT 'Posts with substance >= 0.30',
    transactions UInt32 COMMENT 'Replies between different people where both sides are substantive',
    back_and_forth UInt32 COMMENT 'Longest A-B-A-B reply chain between the same two people',
    links_added UInt32 COMMENT 'Distinct normalised links in the thread',
    questions UInt32 COMMENT 'Questions asked (not low-effort)',
    questions_answered UInt32 COMMENT 'Questions with a substantive reply from someone else',
    oldest_open_question_at Nullable(DateTime64(3, 'UTC')) COMMENT 'When the oldest unanswered question was asked (NULL if none)',
    low_effort_share Float64 COMMENT 'Share of low-effort posts (cheers, emoji)',
    mean_substance Float64 COMMENT 'Mean substance of all posts',
    quality Float64 COMMENT 'Thread quality in [0, 1] (docs/scoring.md section 11)',
    golden UInt8 COMMENT '1 when quality >= 0.5 and transactions >= 3',
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker computed this version'
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY thread_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Conversation quality per thread, latest version wins (query with FINAL)';

CREATE TABLE IF NOT EXISTS buzz.thread_post_scores
(
    thread_id String COMMENT 'Thread',
    post_id String COMMENT 'Post within the thread',
    event_id String COMMENT 'buzz.thread_posts.event_id',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made',
    author_id String COMMENT 'Platform id of the author',
    substance Float64 COMMENT 'Substance in [0, 1] (docs/scoring.md section 10)',
    substantive UInt8 COMMENT '1 when substance >= 0.30',
    low_effort UInt8 COMMENT '1 for a cheer, emoji or link only',
    is_question UInt8 COMMENT '1 when the post asks something',
    features String COMMENT 'Each feature''s contribution before the low-effort factor, as JSON',
    scored_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker scored it'
)
ENGINE = ReplacingMergeTree(scored_at)
ORDER BY (thread_id, post_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Substance of each discussion post, one row per post (query with FINAL)';

CREATE TABLE IF NOT EXISTS buzz.signup_attribution
(
    event_id String COMMENT 'The signup (buzz.signups.event_id)',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the person signed up',
    channel LowCardinality(String) COMMENT 'Signup channel',
    form LowCardinality(String) COMMENT 'Form signed',
    kind LowCardinality(String) COMMENT 'What drove it: validator, thread, mention, or channel (nothing more specific)',
    target_id String COMMENT 'Validator key, thread id, mention event id, or the channel',
    via LowCardinality(String) COMMENT 'Evidence used: referral_code, utm_content, utm_campaign, utm_source or channel',
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker attributed it'
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Last-touch attribution of each signup (docs/scoring.md section 12), one row per signup';

CREATE TABLE IF NOT EXISTS buzz.buzz_signup_lag
(
    subject LowCardinality(String) COMMENT 'Subject whose hourly mentions are the buzz series (all = any tracked subject)',
    lag_hours UInt8 COMMENT 'Signups measured this many hours after buzz (0-24)',
    r Nullable(Float64) COMMENT 'Pearson correlation of hourly buzz with hourly signups lag_hours later (NULL if undefined)',
    pairs UInt32 COMMENT 'Hours compared',
    window_start DateTime('UTC') COMMENT 'First hour of the compared window',
    window_end DateTime('UTC') COMMENT 'Last hour of the compared window',
    computed_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker computed it'
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (subject, lag_hours)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Does buzz lead signups? Cross-correlation per hour lag over the last 14 days, latest wins (docs/scoring.md section 13)';
