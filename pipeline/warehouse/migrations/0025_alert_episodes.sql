-- Alerts that update: a spike, attack, signup surge or coordinated burst still going is one alert
-- (one alert_id) whose later rows carry a higher revision and its latest minute; FINAL keeps the
-- latest row (docs/scoring.md, "Episodes"). `at` stays the episode's first minute, so every
-- version of an alert sits in the same partition.
ALTER TABLE buzz.alerts
    ADD COLUMN IF NOT EXISTS revision UInt32 DEFAULT 1 COMMENT '1 when raised; each update of an episode (the same spike, attack, surge or burst still going) adds one',
    ADD COLUMN IF NOT EXISTS last_at DateTime64(3, 'UTC') DEFAULT at COMMENT 'The latest minute of the episode (event time); equal to at for alerts that do not update';

ALTER TABLE buzz.alerts
    COMMENT COLUMN kind 'spike, attack, coordinated, signup_surge (urgent); validator_first, cascade, golden_thread, unanswered_question (opportunities)',
    COMMENT COLUMN at 'When the thing alerted about happened (event time); for an episode its first minute',
    COMMENT COLUMN created_at 'When the worker raised this version of the alert (the first, or an update)';

CREATE OR REPLACE VIEW buzz.alerts_current
(
    alert_id String COMMENT 'Alert id',
    kind String COMMENT 'Alert kind',
    subject String COMMENT 'Subject id or channel',
    severity String COMMENT 'info, warning or critical',
    title String COMMENT 'One line for staff (the latest version)',
    at DateTime64(3, 'UTC') COMMENT 'When the thing alerted about happened; for an episode its first minute',
    explanation String COMMENT 'The numbers behind the alert, as JSON (the latest version)',
    example_urls Array(String) COMMENT 'Links to look at',
    created_at DateTime64(3, 'UTC') COMMENT 'When the worker raised the latest version',
    handled UInt8 COMMENT '1 when the latest action in buzz.alert_actions is handled',
    revision UInt32 COMMENT '1 when raised; higher once an episode updated',
    last_at DateTime64(3, 'UTC') COMMENT 'The latest minute of the episode (equal to at for alerts that do not update)'
)
AS SELECT
    a.alert_id AS alert_id, a.kind AS kind, a.subject AS subject, a.severity AS severity,
    a.title AS title, a.at AS at, a.explanation AS explanation, a.example_urls AS example_urls,
    a.created_at AS created_at, toUInt8(ifNull(x.last_action, '') = 'handled') AS handled,
    a.revision AS revision, a.last_at AS last_at
FROM buzz.alerts AS a FINAL
LEFT JOIN
(
    SELECT alert_id, argMax(action, at) AS last_action FROM buzz.alert_actions GROUP BY alert_id
) AS x ON x.alert_id = a.alert_id
SETTINGS join_use_nulls = 1
COMMENT 'Alerts, one row each (the latest version of an updating alert), with handled taken from the latest action in buzz.alert_actions';
