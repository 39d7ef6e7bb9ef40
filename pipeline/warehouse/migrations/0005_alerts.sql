-- Alerts, the dashboard's actions on them, and the views analysts ask for most.
CREATE TABLE IF NOT EXISTS buzz.alerts
(
    alert_id String COMMENT 'alert:<kind>:<hash of kind, subject, key>: the same occurrence always has the same id',
    kind LowCardinality(String) COMMENT 'spike, attack, validator_first, cascade, golden_thread, unanswered_question, signup_surge',
    subject LowCardinality(String) COMMENT 'Subject id (or channel for signup surges, validator subject for validator alerts)',
    severity LowCardinality(String) COMMENT 'info, warning or critical',
    title String COMMENT 'One line for staff',
    at DateTime64(3, 'UTC') COMMENT 'When the thing alerted about happened (event time)',
    explanation String COMMENT 'The numbers behind the alert, as JSON',
    example_urls Array(String) COMMENT 'Up to five links to look at',
    created_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker raised it',
    handled UInt8 DEFAULT 0 COMMENT 'Reserved; always 0 here. Whether staff handled it lives in buzz.alert_actions (see buzz.alerts_current)'
)
ENGINE = ReplacingMergeTree(created_at)
PARTITION BY toYYYYMM(at)
ORDER BY alert_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every alert once (ReplacingMergeTree on alert_id, query with FINAL); also published on the buzz.alerts topic';

CREATE TABLE IF NOT EXISTS buzz.alert_actions
(
    alert_id String COMMENT 'buzz.alerts.alert_id',
    action LowCardinality(String) COMMENT 'handled or reopened',
    actor String COMMENT 'Who did it (free text from the dashboard)',
    note String COMMENT 'Optional note',
    at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When'
)
ENGINE = MergeTree
ORDER BY (alert_id, at)
COMMENT 'Append-only log of what staff did with alerts, so the dashboard never mutates buzz.alerts';

CREATE VIEW IF NOT EXISTS buzz.alerts_current
(
    alert_id String COMMENT 'Alert id',
    kind String COMMENT 'Alert kind',
    subject String COMMENT 'Subject id or channel',
    severity String COMMENT 'info, warning or critical',
    title String COMMENT 'One line for staff',
    at DateTime64(3, 'UTC') COMMENT 'When the thing alerted about happened',
    explanation String COMMENT 'The numbers behind the alert, as JSON',
    example_urls Array(String) COMMENT 'Links to look at',
    created_at DateTime64(3, 'UTC') COMMENT 'When the worker raised it',
    handled UInt8 COMMENT '1 when the latest action in buzz.alert_actions is handled'
)
AS SELECT
    a.alert_id AS alert_id, a.kind AS kind, a.subject AS subject, a.severity AS severity,
    a.title AS title, a.at AS at, a.explanation AS explanation, a.example_urls AS example_urls,
    a.created_at AS created_at, toUInt8(ifNull(x.last_action, '') = 'handled') AS handled
FROM buzz.alerts AS a FINAL
LEFT JOIN
(
    SELECT alert_id, argMax(action, at) AS last_action FROM buzz.alert_actions GROUP BY alert_id
) AS x ON x.alert_id = a.alert_id
SETTINGS join_use_nulls = 1
COMMENT 'Alerts, one row each, with handled taken from the latest action in buzz.alert_actions';

CREATE VIEW IF NOT EXISTS buzz.validator_reach_daily
(
    day Date COMMENT 'Day the validator posted (UTC)',
    validator String COMMENT 'Validator key',
    group_name String COMMENT 'Validator group',
    posts UInt64 COMMENT 'Validator posts that day',
    cascade_audience UInt64 COMMENT 'Sum of cascade audiences',
    amplifiers UInt64 COMMENT 'Sum of distinct amplifiers per post',
    max_depth UInt32 COMMENT 'Deepest cascade',
    trust_weighted_reach Float64 COMMENT 'Sum of trust-weighted reach'
)
AS SELECT
    toDate(posted_at) AS day, validator, group_name, count() AS posts,
    sum(cascade_audience) AS cascade_audience, sum(amplifiers) AS amplifiers,
    max(depth) AS max_depth, sum(trust_weighted_reach) AS trust_weighted_reach
FROM buzz.validator_reach FINAL
GROUP BY day, validator, group_name
COMMENT 'Validator reach rolled up per validator and day (group rollups: GROUP BY group_name over this view)';

CREATE VIEW IF NOT EXISTS buzz.signups_hourly
(
    hour DateTime('UTC') COMMENT 'Hour of event time (UTC)',
    channel String COMMENT 'Signup channel',
    form String COMMENT 'Form signed',
    kind String COMMENT 'Attributed to: validator, thread, mention or channel',
    target_id String COMMENT 'Validator key, thread id, mention event id, or the channel',
    signups UInt64 COMMENT 'Distinct signups'
)
AS SELECT
    toStartOfHour(occurred_at) AS hour, channel, form, kind, target_id, count() AS signups
FROM buzz.signup_attribution FINAL
GROUP BY hour, channel, form, kind, target_id
COMMENT 'Signups per hour, channel, form and attributed target';
