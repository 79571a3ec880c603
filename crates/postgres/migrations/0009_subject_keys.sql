-- Personal data's keys, one or more per data subject (crypto-shredding): a forgotten
-- subject's keys are set to NULL, with when it was forgotten.
CREATE TABLE IF NOT EXISTS subject_keys (
    subject      TEXT        NOT NULL,
    generation   INTEGER     NOT NULL,
    key          BYTEA,
    forgotten_at TIMESTAMPTZ,
    PRIMARY KEY (subject, generation)
);
