-- The stream core: what was cut from long real data, each mention's tone, dead letters' size and
-- hash, and how far the worker has got on every partition (which the minute closing waits for).
ALTER TABLE buzz.mentions
    ADD COLUMN IF NOT EXISTS truncated Array(String) COMMENT 'Fields cut to their limit (e.g. author.handle, text); empty when nothing was cut' AFTER hashtags,
    ADD COLUMN IF NOT EXISTS sentiment Float64 DEFAULT 0 COMMENT 'Tone of the text in [-1, 1] (docs/scoring.md), also for mentions that name no tracked subject' AFTER truncated;

ALTER TABLE buzz.thread_posts
    ADD COLUMN IF NOT EXISTS truncated Array(String) COMMENT 'Fields cut to their limit (e.g. thread_title, text); empty when nothing was cut' AFTER url;

ALTER TABLE buzz.signups
    ADD COLUMN IF NOT EXISTS truncated Array(String) COMMENT 'Fields cut to their limit (e.g. postal_prefix); empty when nothing was cut' AFTER phone_hmac;

ALTER TABLE buzz.dead_letters
    ADD COLUMN IF NOT EXISTS payload_size Int64 DEFAULT -1 COMMENT 'Bytes in the whole original input (-1 when not recorded)' AFTER payload,
    ADD COLUMN IF NOT EXISTS payload_sha256 String COMMENT 'SHA-256 (hex) of the whole original input' AFTER payload_size,
    ADD COLUMN IF NOT EXISTS payload_truncated UInt8 COMMENT '1 when payload holds only the first 64 KiB of the input' AFTER payload_sha256;

CREATE TABLE IF NOT EXISTS buzz.stream_partitions
(
    topic LowCardinality(String) COMMENT 'Kafka topic the worker consumes',
    partition UInt32 COMMENT 'Partition of the topic',
    next_offset Int64 COMMENT 'Every message before this offset is written to the warehouse',
    event_time_watermark DateTime64(3, 'UTC') COMMENT 'Latest event time among those messages, capped at the time they were processed (1970 when none)',
    caught_up_at DateTime64(3, 'UTC') COMMENT 'Last time the worker had written everything the broker held for the partition (1970 when never)',
    worker String COMMENT 'Worker that owned the partition: host:pid',
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker reported it'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (topic, partition)
COMMENT 'How far the worker has got on each partition, latest report wins: closing a minute waits until every partition is past it';

-- Looking mentions up by id (signup attribution, spike explanations) without scanning them all:
-- the table is ordered by time, so a bloom filter on event_id lets a lookup skip what cannot hold it.
ALTER TABLE buzz.mentions ADD INDEX IF NOT EXISTS event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4;

ALTER TABLE buzz.mentions MATERIALIZE INDEX event_id_bloom;
