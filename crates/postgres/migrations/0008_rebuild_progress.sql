-- How far the last read-model rebuild has come (a JSON document), for `/pipeline`.
CREATE TABLE IF NOT EXISTS rebuild_progress (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    progress TEXT NOT NULL
);
