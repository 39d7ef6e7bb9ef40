-- Alert delivery (docs/alerts.md): every step of every delivery of an alert to a route, as an
-- append-only log. A delivery's state is its latest row (by recorded_at); "sending" is written
-- before a message goes out and the outcome after it, so a worker that dies in between leaves
-- "sending", which the next worker records as "unknown" and never sends again (at most once).
CREATE TABLE IF NOT EXISTS buzz.alert_deliveries
(
    alert_id String COMMENT 'The alert delivered (buzz.alerts.alert_id)',
    route LowCardinality(String) COMMENT 'Route name from the campaign file',
    channel LowCardinality(String) COMMENT 'slack, email or webhook',
    kind LowCardinality(String) COMMENT 'Alert kind (copied from buzz.alerts for filtering)',
    severity LowCardinality(String) COMMENT 'Alert severity: info, warning or critical',
    mode LowCardinality(String) COMMENT 'now (urgent, sent on its own) or digest (sent with others every few minutes, or after quiet hours)',
    status LowCardinality(String) COMMENT 'queued (waiting to be sent), sending (about to go out), sent (the receiver accepted it), failed (not delivered; retried at next_attempt_at when set), unknown (the outcome was never known, e.g. the worker stopped mid-send: never sent again)',
    attempt UInt16 COMMENT 'Attempt number, from 1 (0 while queued)',
    digest_id String COMMENT 'The digest message it went out in (empty when sent on its own)',
    error String COMMENT 'Why it failed (the receiver''s answer or the connection error, secrets removed); empty otherwise',
    next_attempt_at Nullable(DateTime64(3, 'UTC')) COMMENT 'When a failed delivery is tried again (NULL: not retried)',
    alert_created_at DateTime64(3, 'UTC') COMMENT 'When the alert was raised (buzz.alerts.created_at)',
    worker String COMMENT 'Worker that wrote the row: host:pid',
    at DateTime64(3, 'UTC') COMMENT 'When the worker wrote the row',
    recorded_at DateTime64(6, 'UTC') DEFAULT now64(6) COMMENT 'When the warehouse stored the row: orders rows, and the earliest sending row of an attempt owns it'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (route, alert_id, recorded_at)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every step of delivering alerts to the routes of the campaign file (append-only; the latest row per alert and route is its state)';

CREATE VIEW IF NOT EXISTS buzz.alert_delivery_status
(
    alert_id String COMMENT 'The alert (buzz.alerts.alert_id)',
    route String COMMENT 'Route name from the campaign file',
    channel String COMMENT 'slack, email or webhook',
    kind String COMMENT 'Alert kind',
    severity String COMMENT 'Alert severity',
    mode String COMMENT 'now or digest',
    status String COMMENT 'Latest status: queued, sending, sent, failed or unknown',
    attempts UInt16 COMMENT 'Attempts made so far',
    error String COMMENT 'The latest error (empty when none)',
    next_attempt_at Nullable(DateTime64(3, 'UTC')) COMMENT 'When it will be tried again (NULL: not retried)',
    queued_at DateTime64(3, 'UTC') COMMENT 'When it was first planned for the route',
    updated_at DateTime64(3, 'UTC') COMMENT 'When its latest row was written'
)
AS SELECT
    alert_id, route,
    argMax(toString(channel), (recorded_at, at)) AS channel,
    argMax(toString(kind), (recorded_at, at)) AS kind,
    argMax(toString(severity), (recorded_at, at)) AS severity,
    argMax(toString(mode), (recorded_at, at)) AS mode,
    argMax(toString(status), (recorded_at, at)) AS status,
    max(attempt) AS attempts,
    argMax(error, (recorded_at, at)) AS error,
    argMax(tuple(next_attempt_at), (recorded_at, at)).1 AS next_attempt_at,
    min(at) AS queued_at,
    max(at) AS updated_at
FROM buzz.alert_deliveries
GROUP BY alert_id, route
COMMENT 'Each alert and route once, with the state of its delivery (the latest row of buzz.alert_deliveries)';
