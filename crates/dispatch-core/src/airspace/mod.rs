//! Manned traffic in the drones' airspace, sans-IO: the SBS-1 line parser
//! (`sbs`), the merged and extrapolated traffic picture (`traffic`), the
//! 4D conflict test between a timed path and a track (`conflict`) and the
//! scenario's `[traffic]` settings (`settings`). The fleet core decides
//! what to do about a conflict (hold a launch, hold or lower a drone).

pub mod conflict;
pub mod sbs;
pub mod settings;
pub mod traffic;

pub use conflict::{Conflict, PathPoint, Thresholds, first_conflict, separation};
pub use settings::TrafficSettings;
pub use traffic::{
    Emitter, Track, TrafficCounters, TrafficError, TrafficPicture, TrafficReport, TrafficSource,
    icao_hex,
};
