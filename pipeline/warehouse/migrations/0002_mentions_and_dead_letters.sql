-- Raw mentions and dead letters, keyed on event_id.
CREATE TABLE IF NOT EXISTS buzz.mentions
(
    event_id String COMMENT 'Stable id derived from the platform id, e.g. x:1790000000000',
    platform LowCardinality(String) COMMENT 'Source platform: x, mastodon, bluesky, rss, demo, ...',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    ingested_at DateTime64(3, 'UTC') COMMENT 'When the source saw it (UTC)',
    author_id String COMMENT 'Platform id of the author',
    author_handle String COMMENT 'Author handle on the platform',
    author_name String COMMENT 'Author display name',
    author_audience UInt64 COMMENT 'Author followers/subscribers at post time',
    text String COMMENT 'Post text',
    url String COMMENT 'Link to the post',
    lang LowCardinality(String) COMMENT 'Language code as given by the platform (may be empty)',
    likes UInt64 COMMENT 'Likes/favourites when seen',
    reshares UInt64 COMMENT 'Reposts/boosts when seen',
    replies UInt64 COMMENT 'Replies when seen',
    quotes UInt64 COMMENT 'Quotes when seen',
    reshare_of Nullable(String) COMMENT 'event_id of the post this reshares or quotes, if any',
    reply_to Nullable(String) COMMENT 'event_id of the post this replies to, if any',
    links Array(String) COMMENT 'Links in the post',
    hashtags Array(String) COMMENT 'Hashtags, lower case, without #',
    sunk_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker wrote the row'
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every mention seen, one row per event_id (query with FINAL, or the views, to collapse replays)';

CREATE TABLE IF NOT EXISTS buzz.dead_letters
(
    event_id String COMMENT 'dl:<topic>:<partition>:<offset> or dl:<source>:<payload hash>',
    source_topic LowCardinality(String) COMMENT 'Kafka topic the input came from (empty if from a source)',
    partition Int32 COMMENT 'Kafka partition, -1 if not from Kafka',
    offset Int64 COMMENT 'Kafka offset, -1 if not from Kafka',
    source LowCardinality(String) COMMENT 'Connector that rejected it (empty if a processor did)',
    reason String COMMENT 'Why it could not be used',
    payload String COMMENT 'The original input (UTF-8, undecodable bytes escaped)',
    received_at DateTime64(3, 'UTC') COMMENT 'When it was rejected (UTC)'
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (event_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Input that could not be used, with the reason; nothing bad is dropped silently';
