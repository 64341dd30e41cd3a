-- The event log: the tables of the SQLite log (fleet/src/store.rs), in
-- PostgreSQL's types. JSON columns hold exactly the JSON the SQLite log keeps
-- as text (`json`, not `jsonb`: kept as written, and a string may hold
-- \u0000, which `jsonb` refuses).
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t TIMESTAMPTZ NOT NULL,
    event TEXT NOT NULL,
    incident BIGINT,
    drone TEXT,
    body JSON NOT NULL
);
CREATE INDEX events_incident ON events (incident);
CREATE INDEX events_t ON events (t);

CREATE TABLE incidents (
    id BIGINT PRIMARY KEY,
    reported_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    record JSON NOT NULL,
    meta JSON NOT NULL
);
CREATE INDEX incidents_reported ON incidents (reported_at);

CREATE TABLE sorties (
    drone TEXT PRIMARY KEY,
    body JSON NOT NULL
);

CREATE TABLE zone_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body JSON NOT NULL
);

CREATE TABLE tracks (
    drone TEXT NOT NULL,
    t TIMESTAMPTZ NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    alt_m DOUBLE PRECISION NOT NULL,
    incident BIGINT
);
CREATE INDEX tracks_drone_t ON tracks (drone, t);

-- `next_incident_id` (the numbering) and `log_format` (the row format of
-- `events.body`, fleet/src/store_row.rs), as in the SQLite log.
CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
