-- Analytics commits the bus offsets it reached with its counts: per partition the next
-- offset to apply, and the bus they were read on (its identity; NULL when it has none).
CREATE TABLE IF NOT EXISTS analytics_offsets (
    topic       TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset BIGINT  NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS analytics_bus (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    identity TEXT
);
