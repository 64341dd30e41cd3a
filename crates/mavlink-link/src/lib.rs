//! MAVLink for the dispatch system. This is the only crate that knows the
//! MAVLink wire format and autopilot conventions; the simulator reuses its
//! codec so that both ends account for bad frames the same way.

pub mod codec;
pub mod modes;

pub use mavlink;
pub use mavlink::dialects::ardupilotmega as mav;
