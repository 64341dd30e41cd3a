//! The log's read side as the runtime hands it to readers: a store that
//! only reads, over its own connection, so that a report never takes the
//! writer's lock.

use dispatch_core::Timestamp;

use crate::store::{Batch, Store, StoreError};

/// A store with only a reader's connection.
#[derive(Debug)]
pub(crate) struct ReaderOnly(pub(crate) Box<dyn Store>);

impl Store for ReaderOnly {
    fn backend(&self) -> crate::store::Backend {
        self.0.backend()
    }
    fn commit(&mut self, _: &Batch) -> Result<(), StoreError> {
        Err(read_only())
    }
    fn recover(&mut self) -> Result<crate::store::Recovered, StoreError> {
        Err(read_only())
    }
    fn incident_events(
        &self,
        incident: dispatch_core::IncidentId,
    ) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
        self.0.incident_events(incident)
    }
    fn track(
        &self,
        drone: &dispatch_core::DroneId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::store::TrackPoint>, StoreError> {
        self.0.track(drone, from, to)
    }
    fn incidents_reported(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::store::IncidentRow>, StoreError> {
        self.0.incidents_reported(from, to)
    }
    fn events_between(
        &self,
        kinds: &[&str],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
        self.0.events_between(kinds, from, to)
    }
    fn still(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.still(id)
    }
}

fn read_only() -> StoreError {
    StoreError::Open {
        path: "reader".into(),
        message: "this connection only reads".into(),
    }
}
