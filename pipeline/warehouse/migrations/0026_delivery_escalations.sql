-- Alert delivery of alerts that update (docs/alerts.md, "Escalations"): a delivery is one alert
-- at one kind and severity to one route, so an alert that escalates (its kind changes, e.g. a
-- spike that turns into an attack, or its severity rises) is delivered again, as its own
-- delivery with its own rows; updates at the same kind and severity are not. The rows already
-- carry the kind and severity; the state is now grouped by them too.
ALTER TABLE buzz.alert_deliveries
    COMMENT COLUMN kind 'Kind of the alert version delivered; with alert_id, route and severity it names one delivery (an escalation of the alert to another kind is another delivery)',
    COMMENT COLUMN severity 'Severity of the alert version delivered: info, warning or critical (an escalation to a higher severity is another delivery)';

ALTER TABLE buzz.alert_deliveries
    MODIFY COMMENT 'Every step of delivering alerts to the routes of the campaign file (append-only; the latest row per alert, kind, severity and route is the state of that delivery)';

CREATE OR REPLACE VIEW buzz.alert_delivery_status
(
    alert_id String COMMENT 'The alert (buzz.alerts.alert_id)',
    route String COMMENT 'Route name from the campaign file',
    channel String COMMENT 'slack, email or webhook',
    kind String COMMENT 'Alert kind of the version delivered (an alert that escalated has a row per kind and severity it was delivered at)',
    severity String COMMENT 'Alert severity of the version delivered',
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
    toString(kind) AS kind,
    toString(severity) AS severity,
    argMax(toString(mode), (recorded_at, at)) AS mode,
    argMax(toString(status), (recorded_at, at)) AS status,
    max(attempt) AS attempts,
    argMax(error, (recorded_at, at)) AS error,
    argMax(tuple(next_attempt_at), (recorded_at, at)).1 AS next_attempt_at,
    min(at) AS queued_at,
    max(at) AS updated_at
FROM buzz.alert_deliveries
GROUP BY alert_id, route, kind, severity
COMMENT 'Each delivery once: an alert to a route at one kind and severity (an escalation is its own row), with its state (the latest row of buzz.alert_deliveries)';
