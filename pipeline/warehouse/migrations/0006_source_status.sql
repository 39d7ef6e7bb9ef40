-- Each source connector's last heartbeat: last success, last error, totals.
CREATE TABLE IF NOT EXISTS buzz.source_status
(
    source LowCardinality(String) COMMENT 'Connector name (buzz source list)',
    instance String COMMENT 'Which running copy: host:pid',
    status LowCardinality(String) COMMENT 'running, stopped or error',
    started_at DateTime64(3, 'UTC') COMMENT 'When this instance started (UTC)',
    updated_at DateTime64(3, 'UTC') COMMENT 'When this heartbeat was sent (UTC)',
    events_total UInt64 COMMENT 'Events this instance emitted so far',
    dead_letters_total UInt64 COMMENT 'Inputs this instance dead-lettered so far',
    last_success_at Nullable(DateTime64(3, 'UTC')) COMMENT 'Last time events were delivered to Kafka',
    last_error_at Nullable(DateTime64(3, 'UTC')) COMMENT 'Last time the connector hit an error',
    last_error String COMMENT 'The last error, one line (empty if none)'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (source, instance)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Latest heartbeat of each source connector instance (query with FINAL)';
