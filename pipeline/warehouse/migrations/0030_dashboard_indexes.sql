-- Indexes the dashboard's queries need at tens of millions of mentions (figures: docs/operations.md,
-- "Dashboard at 10M mentions"). Skip indexes let a query skip the granules that cannot match;
-- the dashboard reads raw tables with FINAL, which uses them too (use_skip_indexes_if_final and its
-- exact mode are on by default, so every version of a row that matches is still read).

-- Health's writes per minute and the newest write: sunk_at follows the order of the parts, so a
-- minmax index skips everything written before the hour asked for.
ALTER TABLE buzz.mentions ADD INDEX IF NOT EXISTS sunk_at_minmax sunk_at TYPE minmax GRANULARITY 1;
ALTER TABLE buzz.thread_posts ADD INDEX IF NOT EXISTS sunk_at_minmax sunk_at TYPE minmax GRANULARITY 1;
ALTER TABLE buzz.signups ADD INDEX IF NOT EXISTS sunk_at_minmax sunk_at TYPE minmax GRANULARITY 1;
ALTER TABLE buzz.dead_letters ADD INDEX IF NOT EXISTS received_at_minmax received_at TYPE minmax GRANULARITY 1;

-- A validator post's cascade, walked level by level: which posts reshare or reply to these ids.
-- Replies and reshares follow their post within hours, so the matches sit in a few granules; a
-- level can ask for up to 200 ids at once, hence a false-positive rate of 1 in 10,000 per id.
ALTER TABLE buzz.mentions ADD INDEX IF NOT EXISTS reshare_of_bloom reshare_of TYPE bloom_filter(0.0001) GRANULARITY 1;
ALTER TABLE buzz.mentions ADD INDEX IF NOT EXISTS reply_to_bloom reply_to TYPE bloom_filter(0.0001) GRANULARITY 1;

ALTER TABLE buzz.mentions MATERIALIZE INDEX sunk_at_minmax;
ALTER TABLE buzz.thread_posts MATERIALIZE INDEX sunk_at_minmax;
ALTER TABLE buzz.signups MATERIALIZE INDEX sunk_at_minmax;
ALTER TABLE buzz.dead_letters MATERIALIZE INDEX received_at_minmax;
ALTER TABLE buzz.mentions MATERIALIZE INDEX reshare_of_bloom;
ALTER TABLE buzz.mentions MATERIALIZE INDEX reply_to_bloom;

-- Looking mentions up by id among millions (the posts signups are attributed to, a cascade's root):
-- 0013's index (1% false positives per block of 4 granules) still read a quarter of the table for
-- 30 ids; this one reads about one granule per id.
ALTER TABLE buzz.mentions ADD INDEX IF NOT EXISTS event_id_bloom_fine event_id TYPE bloom_filter(0.0001) GRANULARITY 1;
ALTER TABLE buzz.mentions MATERIALIZE INDEX event_id_bloom_fine;
ALTER TABLE buzz.mentions DROP INDEX IF EXISTS event_id_bloom;
