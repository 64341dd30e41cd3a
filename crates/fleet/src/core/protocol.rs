//! The fleet core's protocol: what goes in ([`FleetInput`]) and what comes
//! out ([`Effect`]). Requests are one variant per API operation, each
//! answered by a [`Reply`]; link actions are carried out by the runtime and
//! their outcomes come back as inputs, so that every outcome is an event.

use std::time::Duration;

use dispatch_core::model::{IncidentKind, LatLon, Zone, ZoneId};
use dispatch_core::{DispatchError, DroneId, IncidentId, Input, Report};
use mavlink_link::link::{Command, CommandError, LinkEvent};
use mavlink_link::mav::MISSION_ITEM_INT_DATA;
use mavlink_link::modes::FlightMode;
use mavlink_link::state::{LinkTimeouts, VehicleState};
use thiserror::Error;

use crate::events::FleetEvent;
use crate::store::Batch;
use crate::views::{IncidentView, ReportOutcome, Snapshot};

/// Names a request, so that its reply finds the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Names a link action in flight, so that its outcome finds its sortie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionId(pub u64);

/// One input to [`crate::core::FleetCore::handle`].
#[derive(Debug)]
pub enum FleetInput {
    /// The fleet's state at start: every configured vehicle heard within the
    /// wait, or not. `listen` names where the link listens (for the alert
    /// when none is heard).
    StartUp {
        telemetry: Telemetry,
        waited_s: f64,
        listen: Option<String>,
    },
    /// A request from the API (or a test), answered by a [`Reply`].
    Request { id: RequestId, request: Request },
    /// Incidents to report now (`fly`'s schedule); the run waits for them.
    Schedule(Vec<Report>),
    /// Something a link saw (texts, spoofing, signing refusals), with the
    /// configured drone its link and system id name, if any. Link health is
    /// not taken from these (a lossy broadcast may miss one) but from each
    /// tick's telemetry.
    Link {
        drone: Option<DroneId>,
        event: LinkEvent,
    },
    /// The 10 Hz step: the vehicles' latest telemetry.
    Tick(Telemetry),
    /// A manned aircraft heard on the ground receiver's feed (SBS-1); a
    /// vehicle's ADS-B comes as a link event.
    Traffic(dispatch_core::airspace::TrafficReport),
    /// A link action ended.
    Done {
        action: ActionId,
        outcome: ActionOutcome,
    },
    /// The durable log started failing, or works again.
    Store(StoreHealth),
    /// A `fly` run reached its deadline with work still out.
    TimedOut,
}

/// The vehicles as the link hears them at one moment.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    /// The link clock now (seconds; the clock of `last_heartbeat`).
    pub link_time: f64,
    pub timeouts: LinkTimeouts,
    /// Drones whose vehicle's telemetry changed since the previous snapshot
    /// (all of them the first time); the core keeps the others as they
    /// were. Times are on one clock (`link_time`'s), whatever link they came on.
    pub vehicles: Vec<(DroneId, VehicleState)>,
}

/// Whether the durable log takes writes.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreHealth {
    Failing(String),
    Working,
    /// The log kept failing and this many of the oldest unwritten events
    /// were let go (memory is bounded); the rest are still kept.
    Dropped(u64),
}

/// One variant per operation of the service.
#[derive(Debug, Clone)]
pub enum Request {
    Snapshot,
    Report(NewIncident),
    Incident(IncidentId),
    Incidents,
    /// Confirms a proposed drone.
    Launch(IncidentId),
    /// Sends a launch held for manned traffic despite the conflict.
    LaunchAnyway(IncidentId),
    /// The traffic picture.
    Traffic,
    Cancel {
        incident: IncidentId,
        reason: String,
    },
    /// The dispatcher closes the case (the drone, if still out, flies home).
    Resolve {
        incident: IncidentId,
        note: String,
    },
    /// Takes the incident off its drone (which flies home) and plans it again.
    Reassign {
        incident: IncidentId,
        reason: String,
    },
    UpsertZone(Zone),
    RemoveZone(ZoneId),
    /// An operator's command to a drone: answered once the vehicle answered.
    Command {
        drone: DroneId,
        command: DroneCommand,
    },
    /// An admin binds a drone to one address (resolving a contest): it is
    /// heard only from there from now on.
    Bind {
        drone: DroneId,
        address: std::net::SocketAddr,
    },
    /// An input as the fleet's own bookkeeping would feed it: a refusal is
    /// an alert, and the answer says whether it was taken.
    Feed(Input),
    /// Weather reports (an admin, a weather service): all checked first,
    /// then all taken, each one a line in the log.
    Weather(Vec<WeatherReport>),
    /// The wind field: at every hangar, and every recent source.
    Wind,
    /// A share link's change to log (the server decides; the fleet keeps
    /// it in the log beside everything else, answered once durable).
    Share(crate::events::ShareEntry),
    /// A still from a drone's camera to keep as evidence (the server took
    /// it from the drone's video): logged with its picture, answered once
    /// durable; refused for an unknown drone or incident.
    Still(crate::events::StillEntry),
    /// Ends the service loop after this step.
    Stop,
}

impl Request {
    /// Whether the request changes what the log keeps: its answer leaves only
    /// once the change is durable.
    pub fn is_change(&self) -> bool {
        !matches!(
            self,
            Request::Snapshot
                | Request::Incident(_)
                | Request::Incidents
                | Request::Wind
                | Request::Traffic
                | Request::Stop
        )
    }

    /// Whether the request must be refused while the log cannot be written
    /// (see [`Request::refused`]): every change but a vehicle's. An
    /// operator's command and a binding go to a vehicle in the air or on
    /// the ground whatever the database does; their outcome is an event,
    /// kept in memory until the log takes it.
    /// An opening of a share is logged like a command's outcome: a safety
    /// crew's view is not refused because the database is away.
    pub fn needs_the_log(&self) -> bool {
        self.is_change()
            && !matches!(
                self,
                Request::Command { .. }
                    | Request::Bind { .. }
                    | Request::Share(crate::events::ShareEntry {
                        change: crate::events::ShareChange::Opened { .. },
                        ..
                    })
            )
    }

    /// The answer to this request refused with `e`, without being handled.
    pub fn refused(&self, e: ServiceError) -> Reply {
        match self {
            Request::Report(_) => Reply::Report(Err(e)),
            Request::Launch(_)
            | Request::LaunchAnyway(_)
            | Request::Incident(_)
            | Request::Cancel { .. }
            | Request::Resolve { .. }
            | Request::Reassign { .. } => Reply::Incident(Err(e)),
            Request::UpsertZone(_) | Request::RemoveZone(_) => Reply::Zone(Err(e)),
            Request::Command { .. } | Request::Bind { .. } => Reply::Command(Err(e)),
            Request::Feed(_) | Request::Weather(_) | Request::Share(_) | Request::Still(_) => {
                Reply::Fed(Err(e))
            }
            // Reads and the stop are never refused this way.
            Request::Snapshot
            | Request::Incidents
            | Request::Traffic
            | Request::Wind
            | Request::Stop => Reply::Stopping,
        }
    }
}

/// The answer to a [`Request`], variant for variant.
#[derive(Debug, Clone)]
pub enum Reply {
    Snapshot(Box<Snapshot>),
    Report(Result<ReportOutcome, ServiceError>),
    Incident(Result<IncidentView, ServiceError>),
    Incidents(Vec<IncidentView>),
    Zone(Result<(), ServiceError>),
    Command(Result<String, ServiceError>),
    Fed(Result<(), ServiceError>),
    Wind(Box<WindView>),
    Traffic(Box<super::TrafficView>),
    Stopping,
}

/// A weather service's wind for a hangar, or for the region.
#[derive(Debug, Clone, PartialEq)]
pub struct WeatherReport {
    /// None: the whole region.
    pub hangar: Option<dispatch_core::HangarId>,
    pub wind: dispatch_core::Wind,
    pub gust_mps: Option<f64>,
    /// When it was measured (None: now).
    pub at: Option<dispatch_core::Timestamp>,
}

/// The wind field as the dispatcher judges by it now.
#[derive(Debug, Clone, PartialEq)]
pub struct WindView {
    /// Each hangar, with the wind there (None: no recent report).
    pub hangars: Vec<(
        dispatch_core::HangarId,
        dispatch_core::LatLon,
        Option<dispatch_core::WindEstimate>,
    )>,
    /// Every source heard recently, where it measured.
    pub sources: Vec<(dispatch_core::LatLon, dispatch_core::WindEstimate)>,
}

impl Reply {
    /// The answer when the change could not be made durable: a success
    /// becomes a storage error (the caller must not take it as accepted).
    pub fn not_durable(self, why: &ServiceError) -> Reply {
        let e = || why.clone();
        match self {
            Reply::Report(r) => Reply::Report(r.and_then(|_| Err(e()))),
            Reply::Incident(r) => Reply::Incident(r.and_then(|_| Err(e()))),
            Reply::Zone(r) => Reply::Zone(r.and_then(|_| Err(e()))),
            Reply::Fed(r) => Reply::Fed(r.and_then(|_| Err(e()))),
            other => other,
        }
    }
}

/// What the core asks of the world.
// A reply holds an incident view inline: effects live for one step and are
// moved, never stored, so their size costs nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Effect {
    /// Write this to the durable log (before any reply of the same step).
    Persist(Box<Batch>),
    /// Publish this event (websocket, `fly`'s output), after the step's
    /// persist; it is also in that persist's batch.
    Publish(FleetEvent),
    /// Answer a request.
    Reply { to: RequestId, reply: Reply },
    /// Carry out a link action; its outcome comes back as [`FleetInput::Done`].
    Act { id: ActionId, action: Action },
    /// Stop an action (a launch called off): its outcome never comes back.
    Abort(ActionId),
    /// The service loop ends after this step.
    Stop,
}

/// A MAVLink exchange with one drone's vehicle (the runtime knows its link
/// and system id), run by the runtime in its own task.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Failsafe parameters, fence and mission up, the hangar's delay, then
    /// (from the ground) GUIDED and arm, then mission start.
    Launch {
        drone: DroneId,
        fence: Vec<MISSION_ITEM_INT_DATA>,
        mission: Vec<MISSION_ITEM_INT_DATA>,
        /// Wall time the hangar needs before take-off (runs beside the uploads).
        delay: Duration,
        airborne: bool,
    },
    /// Home along the mission's way home from `return_start` (jump there if
    /// the vehicle is before it, AUTO); else, or if refused, SMART_RTL,
    /// then RTL.
    SendHome {
        drone: DroneId,
        return_start: Option<u16>,
        /// The mission item the vehicle reported last.
        seq: u16,
    },
    /// Disarm, if the vehicle is armed when the action runs.
    Disarm { drone: DroneId },
    /// An operator's command: its steps in order.
    Operator { drone: DroneId, steps: Vec<Step> },
    /// Bind the drone's system id on its link to one address for good.
    Bind {
        drone: DroneId,
        address: std::net::SocketAddr,
    },
    /// Ask the vehicle's camera component (100) for CAMERA_INFORMATION and
    /// every VIDEO_STREAM_INFORMATION (MAV_CMD_REQUEST_MESSAGE).
    AskCamera { drone: DroneId },
}

/// One thing to send to a vehicle for an operator command.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Mode(FlightMode),
    Command(Command),
}

/// How an [`Action`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    /// The failsafe settings read back, or the step that failed.
    Launched(Result<String, String>),
    SentHome(Result<HomeVia, String>),
    /// Whether the vehicle was armed (and is now disarmed).
    Disarmed(Result<bool, String>),
    Commanded(Result<(), CommandError>),
    Bound(Result<(), String>),
    /// The camera question: the first refusal or failure, if any.
    CameraAsked(Result<(), CommandError>),
}

/// How a drone was sent home.
#[derive(Debug, Clone, PartialEq)]
pub enum HomeVia {
    /// Its planned way home, in AUTO.
    Auto,
    /// A fallback mode, after AUTO was refused (or there was no mission of ours).
    Fallback {
        mode: &'static str,
        auto_error: String,
    },
}

/// Why a request was refused.
#[derive(Debug, Clone, Error)]
pub enum ServiceError {
    #[error("unknown incident {0}")]
    UnknownIncident(IncidentId),
    #[error("unknown drone `{0}`")]
    UnknownDrone(DroneId),
    #[error("unknown zone `{0}`")]
    UnknownZone(ZoneId),
    /// The request is well formed but not possible in the current state.
    #[error("{0}")]
    Conflict(String),
    /// A field is outside what the scenario allows (region, kind policy).
    #[error("{0}")]
    Invalid(String),
    #[error("the vehicle did not carry out the command: {0}")]
    Vehicle(#[from] CommandError),
    #[error("the fleet service has stopped")]
    Stopped,
    /// The change could not be made durable: the caller must not take it as accepted.
    #[error("not recorded durably, try again: {0}")]
    Storage(String),
    /// The log's database cannot be reached. `kept: false`: the change was
    /// refused before it was made, nothing changed. `kept: true`: the
    /// database went away while this change was being written; the change
    /// stands in memory and is written when the database is back, but is not
    /// durable now (a retried report, same source and external id, finds it).
    #[error("{}", unavailable_message(.message, *.kept))]
    DatabaseUnavailable { message: String, kept: bool },
}

fn unavailable_message(message: &str, kept: bool) -> String {
    if kept {
        format!(
            "the database became unreachable while this change was being written: it is kept in memory and written when the database is back, but it is not durable yet; retry later (a report with the same source and external_id finds it): {message}"
        )
    } else {
        format!(
            "the database is unreachable: nothing was changed; try again in a few seconds: {message}"
        )
    }
}

impl From<DispatchError> for ServiceError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::UnknownIncident(id) => ServiceError::UnknownIncident(id),
            DispatchError::InvalidTransition { .. } | DispatchError::NothingToLaunch(_) => {
                ServiceError::Conflict(e.to_string())
            }
            DispatchError::World(dispatch_core::WorldError::UnknownDrone(d)) => {
                ServiceError::UnknownDrone(d)
            }
            DispatchError::World(dispatch_core::WorldError::UnknownZone(z)) => {
                ServiceError::UnknownZone(z)
            }
            other => ServiceError::Invalid(other.to_string()),
        }
    }
}

/// An incident reported to the service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub kind: IncidentKind,
    pub position: LatLon,
    pub note: Option<String>,
    /// The reporting system (shore camera analytics, call centre...).
    pub source: Option<String>,
    /// The reporting system's own id: with `source`, a retry finds the same incident.
    pub external_id: Option<String>,
}

/// An operator's direct command to a drone.
#[derive(Debug, Clone, PartialEq)]
pub enum DroneCommand {
    /// Return to launch (the autopilot's RTL).
    Rtl,
    /// Land where it is.
    Land,
    /// Stop and hold position (LOITER).
    Hold,
    /// Go on with the uploaded mission (AUTO).
    Resume,
    /// Fly to a point (GUIDED reposition); altitude above home, default the cruise altitude.
    Goto {
        position: LatLon,
        alt_m: Option<f64>,
    },
    /// Release the gripper (lifebuoy).
    DropPayload,
    /// Play the loudspeaker clip of an incident kind (default: the drone's task).
    Loudspeaker { kind: Option<IncidentKind> },
}

impl DroneCommand {
    pub fn name(&self) -> &'static str {
        match self {
            DroneCommand::Rtl => "rtl",
            DroneCommand::Land => "land",
            DroneCommand::Hold => "hold",
            DroneCommand::Resume => "resume",
            DroneCommand::Goto { .. } => "goto",
            DroneCommand::DropPayload => "drop_payload",
            DroneCommand::Loudspeaker { .. } => "loudspeaker",
        }
    }
}
