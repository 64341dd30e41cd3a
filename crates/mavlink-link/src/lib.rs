//! MAVLink for the dispatch system. This is the only crate that knows the
//! MAVLink wire format and autopilot conventions; the simulator reuses its
//! codec so that both ends account for bad frames the same way.
//!
//! - [`adsb`]: ADSB_VEHICLE (manned traffic a vehicle forwards) in plain units;
//! - [`camera`]: a vehicle's camera component (CAMERA_INFORMATION, VIDEO_STREAM_INFORMATION);
//! - [`codec`]: datagrams to frames and back, every rejected byte accounted for;
//! - [`modes`]: ArduCopter and PX4 custom modes behind one vocabulary;
//! - [`signing`]: MAVLink 2 message signing: keys, signer, verifier with replay state;
//! - [`state`]: per-vehicle state fed by telemetry (the ingest hot path);
//! - [`link`]: the async link: heartbeat, stream requests, the command and
//!   mission protocols with retries, over UDP, TCP or memory.

pub mod adsb;
pub mod camera;
pub mod codec;
pub mod link;
pub mod modes;
pub mod signing;
pub mod state;

pub use mavlink;
pub use mavlink::dialects::ardupilotmega as mav;
