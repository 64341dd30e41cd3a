-- Stills from the drones' cameras kept as evidence (fleet/src/store_pg.rs):
-- the JPEG by its id; the `still` event in `events` says where, when and by
-- whom it was taken, and names its incident.
CREATE TABLE stills (
    id TEXT PRIMARY KEY,
    jpeg BYTEA NOT NULL
);
