-- The schema registry: one id per distinct schema, versions per subject, levels.
CREATE TABLE IF NOT EXISTS schemas (
    id     INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schema TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS subject_versions (
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES schemas (id),
    PRIMARY KEY (subject, version),
    UNIQUE (subject, schema_id)
);
CREATE TABLE IF NOT EXISTS compatibility (
    subject TEXT PRIMARY KEY, -- '' is the global level
    level   TEXT NOT NULL
);
