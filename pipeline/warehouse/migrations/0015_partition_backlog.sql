-- A partition's report says how much it still had to read: one that is behind counts only by the
-- event times it has read, however recently it was caught up before (docs/architecture.md).
ALTER TABLE buzz.stream_partitions
    ADD COLUMN IF NOT EXISTS behind Int64 DEFAULT -1 COMMENT 'Messages the broker held at the last fetch that were not written yet (-1: not known yet)' AFTER caught_up_at;
