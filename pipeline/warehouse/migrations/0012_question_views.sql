-- Views for the questions analysts ask most (docs/warehouse.md has a worked query for each).
-- They read the score tables with FINAL, so a recomputed row is counted once.
CREATE VIEW IF NOT EXISTS buzz.share_of_voice_daily
(
    day Date COMMENT 'Day of event time (UTC)',
    subject String COMMENT 'Candidate or rival (campaign subject id)',
    subject_kind String COMMENT 'candidate or rival',
    mentions UInt64 COMMENT 'Mentions of the subject that day (closed minutes only)',
    negative_mentions UInt64 COMMENT 'Mentions with negative tone (mentions x negative share, rounded)',
    sentiment_mean Float64 COMMENT 'Mention-weighted mean sentiment in [-1, 1]',
    share_of_voice Float64 COMMENT 'mentions / mentions of candidate and all rivals that day, in [0, 1]'
)
AS SELECT
    day, subject, subject_kind, day_mentions AS mentions, negative_mentions, sentiment_mean,
    day_mentions / sum(day_mentions) OVER (PARTITION BY day) AS share_of_voice
FROM
(
    -- Aliases differ from the column names: ClickHouse would otherwise read the WHERE's
    -- mentions as the aggregate.
    SELECT
        toDate(minute) AS day, subject, subject_kind, toUInt64(sum(mentions)) AS day_mentions,
        toUInt64(round(sum(mentions * negative_share))) AS negative_mentions,
        sum(mentions * sentiment_mean) / sum(mentions) AS sentiment_mean
    FROM buzz.buzz_minutes FINAL
    WHERE subject_kind IN ('candidate', 'rival') AND mentions > 0
    GROUP BY day, subject, subject_kind
)
COMMENT 'Share of voice of the candidate and each rival per day; for a period, sum mentions over days and divide by the total';

CREATE VIEW IF NOT EXISTS buzz.spike_history
(
    subject String COMMENT 'Subject that spiked',
    subject_kind String COMMENT 'candidate, rival or issue',
    minute DateTime('UTC') COMMENT 'Minute flagged as a spike (UTC)',
    mentions UInt32 COMMENT 'Mentions in that minute',
    expected Nullable(Float64) COMMENT 'Normal mentions a minute for that hour of day',
    anomaly_score Nullable(Float64) COMMENT 'Robust z-score of the minute',
    attack UInt8 COMMENT '1 when the spike was on the candidate and mostly negative',
    sentiment_mean Float64 COMMENT 'Mean sentiment of the minute in [-1, 1]',
    negative_share Float64 COMMENT 'Share of negative mentions in the minute',
    alert_id String COMMENT 'The spike or attack alert covering the minute (empty if none was raised)',
    severity String COMMENT 'Alert severity: info, warning or critical (empty without alert)',
    title String COMMENT 'Alert title (empty without alert)',
    top_terms Array(String) COMMENT 'Words over-represented in the spike versus the baseline, best first',
    top_hashtags Array(String) COMMENT 'Hashtags over-represented in the spike, best first',
    top_links Array(String) COMMENT 'Links over-represented in the spike, best first',
    top_authors Array(String) COMMENT 'Authors over-represented in the spike, best first',
    example_urls Array(String) COMMENT 'Posts to read first (most engaging of the spike)',
    explanation String COMMENT 'The whole alert explanation as JSON (why.terms[].spike_posts, ...)'
)
AS SELECT
    b.subject AS subject, b.subject_kind AS subject_kind, b.minute AS minute,
    b.mentions AS mentions, b.expected AS expected, b.anomaly_score AS anomaly_score,
    b.attack AS attack, b.sentiment_mean AS sentiment_mean, b.negative_share AS negative_share,
    a.alert_id AS alert_id, a.severity AS severity, a.title AS title,
    arrayMap(x -> JSONExtractString(x, 'item'), JSONExtractArrayRaw(a.explanation, 'why', 'terms')) AS top_terms,
    arrayMap(x -> JSONExtractString(x, 'item'), JSONExtractArrayRaw(a.explanation, 'why', 'hashtags')) AS top_hashtags,
    arrayMap(x -> JSONExtractString(x, 'item'), JSONExtractArrayRaw(a.explanation, 'why', 'links')) AS top_links,
    arrayMap(x -> JSONExtractString(x, 'item'), JSONExtractArrayRaw(a.explanation, 'why', 'authors')) AS top_authors,
    a.example_urls AS example_urls, a.explanation AS explanation
FROM
(
    SELECT *, toStartOfFifteenMinutes(minute) AS bucket FROM buzz.buzz_minutes FINAL WHERE spike = 1
) AS b
LEFT JOIN
(
    -- Spike alerts are keyed by subject and 15-minute bucket: one alert covers a spike's minutes.
    SELECT
        subject, toStartOfFifteenMinutes(at) AS bucket, argMax(alert_id, created_at) AS alert_id,
        argMax(severity, created_at) AS severity, argMax(title, created_at) AS title,
        argMax(explanation, created_at) AS explanation,
        argMax(example_urls, created_at) AS example_urls
    FROM buzz.alerts FINAL
    WHERE kind IN ('spike', 'attack')
    GROUP BY subject, bucket
) AS a ON a.subject = b.subject AND a.bucket = b.bucket
COMMENT 'Every spike minute with its alert and what drove it (terms, hashtags, links, authors, example posts)';

CREATE VIEW IF NOT EXISTS buzz.validator_signups
(
    event_id String COMMENT 'The signup (buzz.signups.event_id)',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the person signed up',
    validator String COMMENT 'Validator key the signup is attributed to',
    name String COMMENT 'Validator name (empty if no longer in the campaign file)',
    group_name String COMMENT 'Validator group',
    trust_weight Float64 COMMENT 'Validator trust weight (0-10)',
    channel String COMMENT 'Signup channel',
    form String COMMENT 'Form signed',
    via String COMMENT 'Evidence: referral_code, utm_content, utm_campaign or utm_source',
    referral_code String COMMENT 'Referral code used (empty if none)',
    utm_source String COMMENT 'utm_source of the signup link',
    utm_campaign String COMMENT 'utm_campaign of the signup link'
)
AS SELECT
    a.event_id AS event_id, a.occurred_at AS occurred_at, a.target_id AS validator,
    v.name AS name, v.group_name AS group_name, v.trust_weight AS trust_weight,
    a.channel AS channel, a.form AS form, a.via AS via, s.referral_code AS referral_code,
    s.utm_source AS utm_source, s.utm_campaign AS utm_campaign
FROM (SELECT * FROM buzz.signup_attribution FINAL WHERE kind = 'validator') AS a
LEFT JOIN (SELECT validator, name, group_name, trust_weight FROM buzz.validators FINAL) AS v
    ON v.validator = a.target_id
LEFT JOIN (SELECT event_id, referral_code, utm_source, utm_campaign FROM buzz.signups FINAL) AS s
    ON s.event_id = a.event_id
COMMENT 'Signups attributed to a validator, one row per signup, with the validator and the evidence';

CREATE VIEW IF NOT EXISTS buzz.validator_scorecard_daily
(
    day Date COMMENT 'Day (UTC) of the validator posts and of the signups',
    validator String COMMENT 'Validator key',
    name String COMMENT 'Validator name (empty if no longer in the campaign file)',
    group_name String COMMENT 'Validator group',
    trust_weight Float64 COMMENT 'Validator trust weight (0-10)',
    posts UInt64 COMMENT 'Validator posts that day',
    cascade_audience UInt64 COMMENT 'Sum of cascade audiences of those posts (own audience plus resharers)',
    amplifiers UInt64 COMMENT 'Sum of distinct amplifiers per post',
    trust_weighted_reach Float64 COMMENT 'Sum of trust_weight x cascade_audience',
    signups UInt64 COMMENT 'Signups attributed to the validator that day'
)
AS SELECT
    u.day AS day, u.validator AS validator, any(v.name) AS name,
    any(v.group_name) AS group_name, any(v.trust_weight) AS trust_weight,
    sum(u.posts) AS posts, sum(u.cascade_audience) AS cascade_audience,
    sum(u.amplifiers) AS amplifiers, sum(u.trust_weighted_reach) AS trust_weighted_reach,
    sum(u.signups) AS signups
FROM
(
    SELECT
        toDate(posted_at) AS day, validator, count() AS posts,
        toUInt64(sum(cascade_audience)) AS cascade_audience,
        toUInt64(sum(amplifiers)) AS amplifiers,
        toFloat64(sum(trust_weighted_reach)) AS trust_weighted_reach, toUInt64(0) AS signups
    FROM buzz.validator_reach FINAL
    GROUP BY day, validator
    UNION ALL
    SELECT
        toDate(occurred_at) AS day, target_id AS validator, toUInt64(0) AS posts,
        toUInt64(0) AS cascade_audience, toUInt64(0) AS amplifiers,
        toFloat64(0) AS trust_weighted_reach, count() AS signups
    FROM buzz.signup_attribution FINAL
    WHERE kind = 'validator'
    GROUP BY day, validator
) AS u
LEFT JOIN (SELECT validator, name, group_name, trust_weight FROM buzz.validators FINAL) AS v
    ON v.validator = u.validator
GROUP BY day, validator
COMMENT 'Per validator and day: posts, trust-weighted cascade reach and the signups they drove';

CREATE VIEW IF NOT EXISTS buzz.golden_threads
(
    thread_id String COMMENT 'Thread',
    thread_title String COMMENT 'Title of the thread',
    subject String COMMENT 'Tracked subject of the thread (empty if none)',
    url String COMMENT 'Link to the opening post',
    first_post_at DateTime64(3, 'UTC') COMMENT 'Earliest post seen',
    last_post_at DateTime64(3, 'UTC') COMMENT 'Latest post seen',
    posts UInt32 COMMENT 'Distinct posts',
    participants UInt32 COMMENT 'Distinct authors',
    transactions UInt32 COMMENT 'Substantive replies between different people',
    back_and_forth UInt32 COMMENT 'Longest A-B-A-B reply chain between the same two people',
    links_added UInt32 COMMENT 'Distinct links added',
    questions UInt32 COMMENT 'Questions asked',
    questions_answered UInt32 COMMENT 'Questions with a substantive answer from someone else',
    quality Float64 COMMENT 'Thread quality in [0, 1]'
)
AS SELECT
    thread_id, thread_title, subject, url, first_post_at, last_post_at, posts, participants,
    transactions, back_and_forth, links_added, questions, questions_answered, quality
FROM buzz.thread_scores FINAL
WHERE golden = 1
COMMENT 'Threads worth joining: quality >= 0.5 and at least 3 transactions (docs/scoring.md section 11)';

CREATE VIEW IF NOT EXISTS buzz.unanswered_questions
(
    thread_id String COMMENT 'Thread of the question',
    thread_title String COMMENT 'Title of the thread (empty until the thread is scored)',
    subject String COMMENT 'Tracked subject of the thread (empty if none)',
    post_id String COMMENT 'The question post',
    author_id String COMMENT 'Who asked',
    author_handle String COMMENT 'Handle of who asked',
    asked_at DateTime64(3, 'UTC') COMMENT 'When it was asked',
    waiting_hours Float64 COMMENT 'Hours since it was asked, at query time',
    question String COMMENT 'Text of the question (empty once older than the raw-text retention)',
    url String COMMENT 'Link to the question'
)
AS SELECT
    q.thread_id AS thread_id, t.thread_title AS thread_title, t.subject AS subject,
    q.post_id AS post_id, q.author_id AS author_id, p.author_handle AS author_handle,
    q.occurred_at AS asked_at,
    round(dateDiff('second', q.occurred_at, now64(3)) / 3600, 1) AS waiting_hours,
    p.text AS question, p.url AS url
FROM
(
    SELECT thread_id, post_id, author_id, occurred_at
    FROM buzz.thread_post_scores FINAL
    WHERE is_question = 1 AND low_effort = 0
) AS q
LEFT JOIN
(
    -- Who gave each post a substantive direct reply (the scorer's rule for an answer).
    SELECT r.thread_id AS thread_id, assumeNotNull(r.parent_id) AS question_id,
        groupUniqArray(r.author_id) AS answerers
    FROM buzz.thread_posts AS r FINAL
    INNER JOIN
    (
        SELECT thread_id, post_id FROM buzz.thread_post_scores FINAL WHERE substantive = 1
    ) AS s ON s.thread_id = r.thread_id AND s.post_id = r.post_id
    WHERE r.parent_id IS NOT NULL
    GROUP BY thread_id, question_id
) AS a ON a.thread_id = q.thread_id AND a.question_id = q.post_id
LEFT JOIN
(
    SELECT thread_id, post_id, author_handle, text, url FROM buzz.thread_posts FINAL
) AS p ON p.thread_id = q.thread_id AND p.post_id = q.post_id
LEFT JOIN (SELECT thread_id, thread_title, subject FROM buzz.thread_scores FINAL) AS t
    ON t.thread_id = q.thread_id
WHERE NOT arrayExists(x -> x != q.author_id, a.answerers)
COMMENT 'Questions (not low-effort) with no substantive direct reply from someone else yet';

CREATE VIEW IF NOT EXISTS buzz.signups_attributed
(
    event_id String COMMENT 'The signup',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the person signed up',
    platform String COMMENT 'Form platform',
    channel String COMMENT 'Signup channel',
    form String COMMENT 'Form signed',
    referral_code String COMMENT 'Referral code used (empty if none)',
    utm_source String COMMENT 'utm_source (empty if none)',
    utm_medium String COMMENT 'utm_medium (empty if none)',
    utm_campaign String COMMENT 'utm_campaign (empty if none)',
    utm_content String COMMENT 'utm_content (empty if none)',
    country String COMMENT 'Country code',
    region String COMMENT 'Region or state',
    kind String COMMENT 'Attributed to: validator, thread, mention, channel, or pending (not attributed yet)',
    target_id String COMMENT 'Validator key, thread id, mention event id, or the channel (empty while pending)',
    via String COMMENT 'Evidence used: referral_code, utm_content, utm_campaign, utm_source or channel'
)
AS SELECT
    s.event_id AS event_id, s.occurred_at AS occurred_at, s.platform AS platform,
    s.channel AS channel, s.form AS form, s.referral_code AS referral_code,
    s.utm_source AS utm_source, s.utm_medium AS utm_medium, s.utm_campaign AS utm_campaign,
    s.utm_content AS utm_content, s.country AS country, s.region AS region,
    if(a.event_id = '', 'pending', toString(a.kind)) AS kind, a.target_id AS target_id,
    toString(a.via) AS via
FROM buzz.signups AS s FINAL
LEFT JOIN (SELECT event_id, kind, target_id, via FROM buzz.signup_attribution FINAL) AS a
    ON a.event_id = s.event_id
COMMENT 'Every signup with its channel, referral, UTM tags and last-touch attribution (no personal data)';

CREATE VIEW IF NOT EXISTS buzz.signups_daily
(
    day Date COMMENT 'Day of the signups (UTC)',
    channel String COMMENT 'Signup channel',
    referral_code String COMMENT 'Referral code used (empty if none)',
    kind String COMMENT 'Attributed to: validator, thread, mention, channel or pending',
    target_id String COMMENT 'What it was attributed to',
    signups UInt64 COMMENT 'Distinct signups'
)
AS SELECT
    toDate(occurred_at) AS day, channel, referral_code, kind, target_id, count() AS signups
FROM buzz.signups_attributed
GROUP BY day, channel, referral_code, kind, target_id
COMMENT 'Signups per day by channel, referral code and attribution';

CREATE VIEW IF NOT EXISTS buzz.buzz_signup_lead
(
    subject String COMMENT 'Subject whose buzz is compared with signups (all = any subject)',
    best_lag_hours UInt8 COMMENT 'Hours between buzz and signups with the strongest correlation',
    best_r Float64 COMMENT 'Pearson r at that lag (near 0: buzz does not lead signups)',
    pairs UInt32 COMMENT 'Hours compared at that lag',
    window_start DateTime('UTC') COMMENT 'First hour of the compared window',
    window_end DateTime('UTC') COMMENT 'Last hour of the compared window'
)
AS SELECT
    subject, argMax(lag_hours, assumeNotNull(r)) AS best_lag_hours,
    max(assumeNotNull(r)) AS best_r, argMax(pairs, assumeNotNull(r)) AS pairs,
    max(window_start) AS window_start, max(window_end) AS window_end
FROM buzz.buzz_signup_lag FINAL
WHERE r IS NOT NULL
GROUP BY subject
COMMENT 'Per subject, the lag at which buzz best predicts signups (from buzz.buzz_signup_lag)';
