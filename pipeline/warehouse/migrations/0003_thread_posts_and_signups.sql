-- Raw discussion posts and signups, keyed on event_id like buzz.mentions.
CREATE TABLE IF NOT EXISTS buzz.thread_posts
(
    event_id String COMMENT 'Stable id derived from the platform id, e.g. discourse:12345',
    platform LowCardinality(String) COMMENT 'Source platform: discourse, reddit, demo, ...',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    ingested_at DateTime64(3, 'UTC') COMMENT 'When the source saw it (UTC)',
    thread_id String COMMENT 'Thread the post belongs to',
    post_id String COMMENT 'Id of the post within the platform',
    parent_id Nullable(String) COMMENT 'post_id this post replies to (NULL for the opening post or a top-level reply)',
    thread_title String COMMENT 'Title of the thread as the source saw it',
    author_id String COMMENT 'Platform id of the author',
    author_handle String COMMENT 'Author handle on the platform',
    author_name String COMMENT 'Author display name',
    author_audience UInt64 COMMENT 'Author followers/subscribers when seen (0 if unknown)',
    text String COMMENT 'Post text',
    links Array(String) COMMENT 'Links in the post',
    url String COMMENT 'Link to the post',
    sunk_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker wrote the row'
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (thread_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every discussion post seen, one row per event_id (query with FINAL to collapse replays); ordered by thread so a thread is read at once';

CREATE TABLE IF NOT EXISTS buzz.signups
(
    event_id String COMMENT 'Stable id of the signup from the form platform',
    platform LowCardinality(String) COMMENT 'Form platform: actionnetwork, mobilize, forms, ...',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the person signed up (event time, UTC)',
    ingested_at DateTime64(3, 'UTC') COMMENT 'When the source saw it (UTC)',
    channel LowCardinality(String) COMMENT 'Channel: web, event, referral, ...',
    form LowCardinality(String) COMMENT 'Form signed (volunteer, phone-bank, ...; empty if unknown)',
    referral_code String COMMENT 'Referral code used, as typed (empty if none)',
    utm_source String COMMENT 'utm_source of the signup link (empty if none)',
    utm_medium String COMMENT 'utm_medium of the signup link (empty if none)',
    utm_campaign String COMMENT 'utm_campaign of the signup link (empty if none)',
    utm_content String COMMENT 'utm_content of the signup link (empty if none)',
    utm_term String COMMENT 'utm_term of the signup link (empty if none)',
    country LowCardinality(String) COMMENT 'Country code (coarse location only)',
    region LowCardinality(String) COMMENT 'Region or state (coarse location only)',
    postal_prefix String COMMENT 'First characters of the postal code, at most 4 (coarse location only)',
    email_hmac Nullable(String) COMMENT 'Keyed HMAC-SHA256 of the normalised email (hex); the email itself is never stored',
    phone_hmac Nullable(String) COMMENT 'Keyed HMAC-SHA256 of the normalised phone (hex); the phone itself is never stored',
    sunk_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When the worker wrote the row'
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Every signup seen, one row per event_id (query with FINAL); personal data only as keyed HMACs';
