//! Dispatch core: the fleet model, the spatial index, no-go-aware routing and
//! drone assignment for the drone patrol and rescue dispatch system.
//!
//! Sans-IO by design: no sockets, no async runtime, no MAVLink, no HTTP and no
//! wall clock. Every function that needs the time takes it as an argument, so
//! a ten-minute mission is tested in microseconds and every decision can be
//! replayed. The adapters (CLI, fleet manager, server) live in other crates.

pub mod airspace;
pub mod assign;
pub mod audit;
pub mod config;
pub mod dispatch;
pub mod geodesy;
pub mod homeward;
pub mod model;
pub mod polygon_check;
pub mod routing;
pub mod separation;
pub mod shape;
pub mod synth;
pub mod wind;
pub mod world;

pub use assign::{
    Assignment, Candidate, EnergyBudget, Need, NoCandidate, RejectReason, Rejection, assign,
};
pub use config::{ConfigError, ConfigProblem, Scenario};
pub use dispatch::{DispatchError, Dispatcher, IncidentRecord, Input, Output, Report};
pub use model::*;
pub use routing::{
    Route, RouteError, RouteRequest, check_hover, leg_tolerance_s, plan_route, plan_route_reference,
};
pub use wind::{Wind, WindEstimate, WindField, WindObservation, WindSource};
pub use world::{PlanningParams, Region, World, WorldError};
