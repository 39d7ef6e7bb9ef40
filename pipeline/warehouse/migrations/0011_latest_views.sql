-- Views that collapse replays (FINAL) so analysts need not remember it. Personal data stays as
-- keyed HMACs (buzz.signups_latest); docs/warehouse.md explains FINAL and when to use these.
CREATE VIEW IF NOT EXISTS buzz.mentions_latest
(
    event_id String COMMENT 'Stable id derived from the platform id, e.g. x:1790000000000',
    platform String COMMENT 'Source platform: x, mastodon, bluesky, rss, demo, ...',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    ingested_at DateTime64(3, 'UTC') COMMENT 'When the source last saw it (UTC)',
    author_id String COMMENT 'Platform id of the author',
    author_handle String COMMENT 'Author handle on the platform',
    author_name String COMMENT 'Author display name',
    author_audience UInt64 COMMENT 'Author followers/subscribers at post time',
    text String COMMENT 'Post text (empty once older than the raw-text retention)',
    url String COMMENT 'Link to the post',
    lang String COMMENT 'Language code as given by the platform (may be empty)',
    likes UInt64 COMMENT 'Likes/favourites when last seen',
    reshares UInt64 COMMENT 'Reposts/boosts when last seen',
    replies UInt64 COMMENT 'Replies when last seen',
    quotes UInt64 COMMENT 'Quotes when last seen',
    reshare_of Nullable(String) COMMENT 'event_id of the post this reshares or quotes, if any',
    reply_to Nullable(String) COMMENT 'event_id of the post this replies to, if any',
    links Array(String) COMMENT 'Links in the post',
    hashtags Array(String) COMMENT 'Hashtags, lower case, without #'
)
AS SELECT
    event_id, platform, occurred_at, ingested_at, author_id, author_handle, author_name,
    author_audience, text, url, lang, likes, reshares, replies, quotes, reshare_of, reply_to,
    links, hashtags
FROM buzz.mentions FINAL
COMMENT 'buzz.mentions with replays collapsed: one row per event_id, the latest version';

CREATE VIEW IF NOT EXISTS buzz.thread_posts_latest
(
    event_id String COMMENT 'Stable id derived from the platform id, e.g. discourse:12345',
    platform String COMMENT 'Source platform: discourse, reddit, demo, ...',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    thread_id String COMMENT 'Thread the post belongs to',
    post_id String COMMENT 'Id of the post within the platform',
    parent_id Nullable(String) COMMENT 'post_id this post replies to (NULL for the opening post or a top-level reply)',
    thread_title String COMMENT 'Title of the thread as the source saw it',
    author_id String COMMENT 'Platform id of the author',
    author_handle String COMMENT 'Author handle on the platform',
    text String COMMENT 'Post text (empty once older than the raw-text retention)',
    links Array(String) COMMENT 'Links in the post',
    url String COMMENT 'Link to the post'
)
AS SELECT
    event_id, platform, occurred_at, thread_id, post_id, parent_id, thread_title, author_id,
    author_handle, text, links, url
FROM buzz.thread_posts FINAL
COMMENT 'buzz.thread_posts with replays collapsed: one row per event_id';

CREATE VIEW IF NOT EXISTS buzz.signups_latest
(
    event_id String COMMENT 'Stable id of the signup from the form platform',
    platform String COMMENT 'Form platform: actionnetwork, mobilize, forms, ...',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the person signed up (event time, UTC)',
    channel String COMMENT 'Channel: web, event, referral, ...',
    form String COMMENT 'Form signed (empty if unknown)',
    referral_code String COMMENT 'Referral code used, as typed (empty if none)',
    utm_source String COMMENT 'utm_source of the signup link (empty if none)',
    utm_medium String COMMENT 'utm_medium of the signup link (empty if none)',
    utm_campaign String COMMENT 'utm_campaign of the signup link (empty if none)',
    utm_content String COMMENT 'utm_content of the signup link (empty if none)',
    utm_term String COMMENT 'utm_term of the signup link (empty if none)',
    country String COMMENT 'Country code (coarse location only)',
    region String COMMENT 'Region or state (coarse location only)',
    email_hmac Nullable(String) COMMENT 'Keyed HMAC of the email (count distinct people with it; NULL after the PII retention)',
    phone_hmac Nullable(String) COMMENT 'Keyed HMAC of the phone (NULL after the PII retention)'
)
AS SELECT
    event_id, platform, occurred_at, channel, form, referral_code, utm_source, utm_medium,
    utm_campaign, utm_content, utm_term, country, region, email_hmac, phone_hmac
FROM buzz.signups FINAL
COMMENT 'buzz.signups with replays collapsed: one row per signup';

CREATE VIEW IF NOT EXISTS buzz.mention_scores_latest
(
    event_id String COMMENT 'The mention (buzz.mentions.event_id)',
    subject String COMMENT 'Tracked subject the mention talks about',
    minute DateTime('UTC') COMMENT 'occurred_at floored to the minute (UTC)',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the post was made (event time, UTC)',
    author_id String COMMENT 'Platform id of the author',
    terms Array(String) COMMENT 'Campaign terms of this subject found in the text or hashtags',
    sentiment Float64 COMMENT 'VADER compound score of the text in [-1, 1]',
    negative UInt8 COMMENT '1 when sentiment <= -0.05',
    engagement_weight Float64 COMMENT '1 + log10(1 + likes + 2 replies + 2 reshares + 2 quotes)',
    validator String COMMENT 'Validator key of the author (empty if not a validator)'
)
AS SELECT
    event_id, subject, minute, occurred_at, author_id, terms, sentiment, negative,
    engagement_weight, validator
FROM buzz.mention_scores FINAL
COMMENT 'buzz.mention_scores with replays collapsed: one row per (mention, subject)';
