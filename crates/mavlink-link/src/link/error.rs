//! Why a command, an upload or a parameter request did not succeed: typed
//! errors the handle's callers match on.

use thiserror::Error;

use crate::mav::{MavCmd, MavMissionResult, MavMissionType, MavResult};
use crate::modes::FlightMode;

/// Why a command did not succeed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum CommandError {
    #[error("vehicle {system_id} answered {command:?} with {result:?}")]
    Rejected {
        system_id: u8,
        command: MavCmd,
        result: MavResult,
    },
    #[error("vehicle {system_id} did not acknowledge {command:?} after {attempts} attempts")]
    Timeout {
        system_id: u8,
        command: MavCmd,
        attempts: u32,
    },
    #[error("vehicle {system_id} already has a {command:?} in flight")]
    Busy { system_id: u8, command: MavCmd },
    #[error("system id {0} is not a configured vehicle")]
    UnknownVehicle(u8),
    #[error("vehicle {system_id} has no mode {mode} on its autopilot")]
    NoSuchMode { system_id: u8, mode: FlightMode },
    #[error("the link is closed")]
    Closed,
}

/// Why an upload did not succeed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum UploadError {
    #[error("vehicle {system_id} rejected the {kind:?} upload: {result:?}")]
    Rejected {
        system_id: u8,
        kind: MavMissionType,
        result: MavMissionResult,
    },
    #[error("vehicle {system_id} stopped answering the {kind:?} upload")]
    Timeout { system_id: u8, kind: MavMissionType },
    #[error("vehicle {system_id} is already receiving an upload")]
    Busy { system_id: u8 },
    #[error("system id {0} is not a configured vehicle")]
    UnknownVehicle(u8),
    #[error("the link is closed")]
    Closed,
}

/// Why a parameter could not be read or set.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ParamError {
    #[error("vehicle {system_id} did not answer for parameter {name} after {attempts} attempts")]
    Timeout {
        system_id: u8,
        name: String,
        attempts: u32,
    },
    #[error("vehicle {system_id} reports {name} = {got} after it was set to {wanted}")]
    Mismatch {
        system_id: u8,
        name: String,
        wanted: f64,
        got: f64,
    },
    #[error("`{0}` is not a parameter name (1 to 16 ASCII characters)")]
    BadName(String),
    #[error("{0} is not a finite parameter value")]
    BadValue(f64),
    #[error("vehicle {system_id} already has a request for {name} in flight")]
    Busy { system_id: u8, name: String },
    #[error("system id {0} is not a configured vehicle")]
    UnknownVehicle(u8),
    #[error("the link is closed")]
    Closed,
}
