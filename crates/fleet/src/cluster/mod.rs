//! Several dispatch servers on one PostgreSQL database, one of them the
//! leader: it alone writes the event log and commands vehicles.
//!
//! - `keeper`: [`LeaseKeeper`], the sans-IO decisions (when to ask for the
//!   lease, renew it, step down), tested in simulated time.
//! - `runner`: the thin async task around it ([`start`]): the lease's calls
//!   on blocking threads, the link's [`SendGate`] moved forward with every
//!   renewal, a [`ClusterStatus`] for health, and [`News`] for the server
//!   (lead now with this fence; stepped down, stop at once).
//!
//! The leader's store is fenced with its token
//! ([`crate::store_pg::PostgresStore::set_fence`]) and its links carry the
//! gate, so a leader that lost the lease (paused, cut off) neither writes
//! nor transmits; a fenced commit steps it down like a refused renewal.

mod keeper;
mod runner;

pub use keeper::{Decision, LeaseKeeper, Observation, Role, StepDown, Timing};
pub use mavlink_link::link::SendGate;
pub use runner::{ClusterHandle, ClusterStatus, News, start};
