-- Database buzz and the migration ledger.
CREATE DATABASE IF NOT EXISTS buzz COMMENT 'Campaign buzz pipeline';

CREATE TABLE IF NOT EXISTS buzz.schema_migrations
(
    version UInt32 COMMENT 'Migration number (the NNNN of NNNN_name.sql)',
    name String COMMENT 'Migration file name',
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When buzz migrate applied it'
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version
COMMENT 'Which numbered migrations have been applied (written by buzz migrate)';
