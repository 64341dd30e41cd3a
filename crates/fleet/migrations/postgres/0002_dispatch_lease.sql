-- The dispatch lease (fleet/src/store_pg_lease.rs): one row per lease, the
-- server that holds it and until when, by the database's clock. `token`
-- grows by one at every new holder: a commit fenced with an older token is
-- refused.
CREATE TABLE dispatch_lease (
    name TEXT PRIMARY KEY,
    holder TEXT,
    token BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    renewed_at TIMESTAMPTZ NOT NULL
);
