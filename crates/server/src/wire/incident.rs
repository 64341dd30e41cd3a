//! Incidents with their assignment, routes and time line, and the
//! dispatcher's decisions (websocket `dispatch` messages).

use chrono::{DateTime, Utc};
use dispatch_core::assign as core_assign;
use dispatch_core::dispatch as core_dispatch;
use dispatch_core::model as core;
use dispatch_core::routing as core_routing;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Capability, IncidentKind, IncidentStatus, LatLon, capabilities};

/// An incident as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Incident {
    pub id: u64,
    pub kind: IncidentKind,
    pub position: LatLon,
    /// 1 (lowest) to 5 (highest).
    pub priority: u8,
    pub reported_at: DateTime<Utc>,
    /// Capabilities a drone needs for it.
    pub required: Vec<Capability>,
    pub status: IncidentStatus,
    /// The drone proposed for it or serving it.
    pub drone: Option<String>,
    /// Why it is queued, failed or cancelled.
    pub reason: Option<String>,
    /// The patrol route served, for patrols.
    pub patrol: Option<String>,
    /// Predicted arrival on scene while a drone is proposed or on its way.
    pub eta: Option<DateTime<Utc>>,
    /// Whether it launches without waiting for a dispatcher.
    pub auto_launch: bool,
    pub assignment: Option<Assignment>,
    pub note: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    /// The assignment's route to the scene.
    pub route: Option<LineString>,
    /// The assignment's planned way home.
    pub return_route: Option<LineString>,
}

/// The answer to a report: the incident, and whether this report opened it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportedIncident {
    #[serde(flatten)]
    pub incident: Incident,
    /// False when `(source, external_id)` named an incident reported before.
    pub created: bool,
}

/// One line of an incident's time line.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub status: IncidentStatus,
    pub note: String,
}

/// The chosen drone and everything the dispatcher shows about the choice.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Assignment {
    pub chosen: Candidate,
    pub route: Route,
    pub return_route: Route,
    pub arrival_at: DateTime<Utc>,
    pub energy: EnergyBudget,
    /// The wind the ETA and energy were planned with; null: none known (still air).
    pub wind: Option<super::SortieWind>,
    /// The sortie's separation from our other sorties: its layer and any
    /// delayed start; null in plans made before separation.
    pub flight: Option<SortieFlight>,
    /// Next-best drones, best first.
    pub alternatives: Vec<Candidate>,
    /// Drones nearer than the chosen one that were passed over, nearest first.
    pub rejected: Vec<Rejection>,
}

/// How a sortie is kept apart from our other sorties.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SortieFlight {
    /// The cruise altitude it flies at, metres above its hangar.
    pub altitude_m: f64,
    /// Seconds it waits on the ground before launching, for separation.
    pub start_delay_s: f64,
    /// Why that layer or delay; empty when nothing was in the way.
    pub note: String,
    /// When its path ends (landed back home), as planned.
    pub ends_at: Option<DateTime<Utc>>,
}

/// A drone that can do the job, with its figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Candidate {
    pub drone: String,
    pub hangar: String,
    /// Seconds from the report to arrival over the scene.
    pub eta_s: f64,
    pub route_length_m: f64,
    pub battery_on_landing_pct: f64,
    /// Straight-line distance to the scene, metres.
    pub distance_m: f64,
    /// The incident it would be taken from, if it is on preemptable work.
    pub preempts: Option<u64>,
}

/// A planned route.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Route {
    /// From start to target, both included.
    pub waypoints: Vec<LatLon>,
    /// Geodesic length, metres.
    pub length_m: f64,
    /// Rescue-exempt zones the final leg enters to reach the target.
    pub final_leg_enters: Vec<String>,
    /// Zones the first leg leaves (the start lay inside them).
    pub departs_from: Vec<String>,
    /// Zones the route bends around.
    pub avoided: Vec<String>,
    /// Zones a leg crosses while they are not in force.
    pub crossed_inactive: Vec<String>,
    /// The least distance, metres, from the route to a zone that blocks the
    /// flight; null when none lies within 2 km.
    pub clearance_m: Option<f64>,
    /// The zones at that least distance.
    pub clearance_zones: Vec<String>,
    /// Zones the route comes closer to than the margin.
    pub within_margin: Vec<String>,
}

/// Battery use of one sortie, in percentage points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct EnergyBudget {
    pub climb_pct: f64,
    pub outbound_pct: f64,
    pub on_scene_pct: f64,
    pub return_pct: f64,
    pub descent_pct: f64,
    pub total_pct: f64,
    pub battery_pct: f64,
    pub reserve_pct: f64,
    /// Battery left on landing above the reserve.
    pub margin_pct: f64,
}

/// Why a drone nearer than the chosen one was passed over (`reason`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    MissingCapabilities {
        drone: String,
        distance_m: f64,
        missing: Vec<Capability>,
    },
    Busy {
        drone: String,
        distance_m: f64,
        incident: u64,
        priority: u8,
    },
    InsufficientBattery {
        drone: String,
        distance_m: f64,
        needed_pct: f64,
        available_pct: f64,
    },
    NoRoute {
        drone: String,
        distance_m: f64,
        error: RouteError,
    },
    NoReturnRoute {
        drone: String,
        distance_m: f64,
        error: RouteError,
    },
    /// The wind on the sortie is over the airframe's limits.
    WindLimit {
        drone: String,
        distance_m: f64,
        wind_mps: f64,
        gust_mps: f64,
        from_deg: f64,
        max_wind_mps: f64,
        max_gust_mps: f64,
        source: String,
        age_s: f64,
    },
    /// A leg runs into more wind than the frame has airspeed.
    NoHeadway {
        drone: String,
        distance_m: f64,
        wind_mps: f64,
        from_deg: f64,
        max_airspeed_mps: f64,
    },
}

/// Why no route exists.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub enum RouteError {
    TargetInZone { zone: String, name: String },
    Unreachable { zones: Vec<String> },
    OutsideRegion { position: LatLon },
}

/// A route as a GeoJSON LineString geometry (`[lon, lat]` pairs).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LineString {
    #[serde(rename = "type")]
    pub kind: LineStringType,
    pub coordinates: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum LineStringType {
    LineString,
}

/// A decision of the dispatcher (`type`), as websocket `dispatch` messages carry it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DispatchOutput {
    Reported {
        incident: u64,
        kind: IncidentKind,
        priority: u8,
    },
    Proposed {
        incident: u64,
        assignment: Box<Assignment>,
    },
    Assigned {
        incident: u64,
        assignment: Box<Assignment>,
    },
    Queued {
        incident: u64,
        reason: String,
    },
    Preempted {
        drone: String,
        from: u64,
        to: u64,
    },
    StatusChanged {
        incident: u64,
        from: IncidentStatus,
        to: IncidentStatus,
        /// Why, as written in the incident's time line.
        note: String,
    },
    ZoneAdded {
        zone: String,
    },
    ZoneRemoved {
        zone: String,
    },
    ZoneExpired {
        zone: String,
    },
    /// The predicted arrival on scene moved (re-estimated at take-off and
    /// from the drone's progress along its route).
    EtaChanged {
        incident: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        why: String,
    },
    /// A drone sent home before its sortie's end: its way home, planned
    /// again and separated from the other sorties, starts after `hold_s`
    /// seconds held where it is; `conflict` when no hold clears it.
    Homeward {
        drone: String,
        incident: Option<u64>,
        hold_s: f64,
        conflict: bool,
        note: String,
    },
}

fn ids(z: &[core::ZoneId]) -> Vec<String> {
    z.iter().map(|z| z.0.clone()).collect()
}

impl From<&fleet::IncidentView> for Incident {
    fn from(v: &fleet::IncidentView) -> Self {
        let i = &v.incident;
        Incident {
            id: i.id.0,
            kind: i.kind.into(),
            position: i.position.into(),
            priority: i.priority,
            reported_at: i.reported_at,
            required: capabilities(i.required),
            status: i.status.into(),
            drone: i.drone.as_ref().map(|d| d.0.clone()),
            reason: i.reason.clone(),
            patrol: i.patrol.as_ref().map(|p| p.0.clone()),
            eta: v.eta,
            auto_launch: v.auto_launch,
            assignment: v.assignment.as_ref().map(Assignment::from),
            note: v.meta.note.clone(),
            source: v.meta.source.clone(),
            external_id: v.meta.external_id.clone(),
            timeline: v.timeline.iter().map(TimelineEntry::from).collect(),
            route: v
                .assignment
                .as_ref()
                .map(|a| LineString::from(&a.route.waypoints[..])),
            return_route: v
                .assignment
                .as_ref()
                .map(|a| LineString::from(&a.return_route.waypoints[..])),
        }
    }
}

impl From<&core_dispatch::TimelineEntry> for TimelineEntry {
    fn from(e: &core_dispatch::TimelineEntry) -> Self {
        TimelineEntry {
            at: e.at,
            status: e.status.into(),
            note: e.note.clone(),
        }
    }
}

impl From<&core_assign::Assignment> for Assignment {
    fn from(a: &core_assign::Assignment) -> Self {
        Assignment {
            chosen: (&a.chosen).into(),
            route: (&a.route).into(),
            return_route: (&a.return_route).into(),
            arrival_at: a.arrival_at,
            energy: a.energy.into(),
            wind: a.wind.as_ref().map(super::SortieWind::from),
            flight: a.flight.as_ref().map(|f| SortieFlight {
                altitude_m: f.altitude_m,
                start_delay_s: f.start_delay_s,
                note: f.note.clone(),
                ends_at: f.end(),
            }),
            alternatives: a.alternatives.iter().map(Candidate::from).collect(),
            rejected: a.rejected.iter().map(Rejection::from).collect(),
        }
    }
}

impl From<&core_assign::Candidate> for Candidate {
    fn from(c: &core_assign::Candidate) -> Self {
        Candidate {
            drone: c.drone.0.clone(),
            hangar: c.hangar.0.clone(),
            eta_s: c.eta_s,
            route_length_m: c.route_length_m,
            battery_on_landing_pct: c.battery_on_landing_pct,
            distance_m: c.distance_m,
            preempts: c.preempts.map(|i| i.0),
        }
    }
}

impl From<&core_routing::Route> for Route {
    fn from(r: &core_routing::Route) -> Self {
        Route {
            waypoints: r.waypoints.iter().copied().map(LatLon::from).collect(),
            length_m: r.length_m,
            final_leg_enters: ids(&r.final_leg_enters),
            departs_from: ids(&r.departs_from),
            avoided: ids(&r.avoided),
            crossed_inactive: ids(&r.crossed_inactive),
            clearance_m: r.clearance_m,
            clearance_zones: ids(&r.clearance_zones),
            within_margin: ids(&r.within_margin),
        }
    }
}

impl From<core_assign::EnergyBudget> for EnergyBudget {
    fn from(e: core_assign::EnergyBudget) -> Self {
        EnergyBudget {
            climb_pct: e.climb_pct,
            outbound_pct: e.outbound_pct,
            on_scene_pct: e.on_scene_pct,
            return_pct: e.return_pct,
            descent_pct: e.descent_pct,
            total_pct: e.total_pct,
            battery_pct: e.battery_pct,
            reserve_pct: e.reserve_pct,
            margin_pct: e.margin_pct,
        }
    }
}

impl From<&core_assign::Rejection> for Rejection {
    fn from(r: &core_assign::Rejection) -> Self {
        use core_assign::RejectReason as R;
        let (drone, distance_m) = (r.drone.0.clone(), r.distance_m);
        match &r.reason {
            R::MissingCapabilities { missing } => Rejection::MissingCapabilities {
                drone,
                distance_m,
                missing: capabilities(*missing),
            },
            R::Busy { incident, priority } => Rejection::Busy {
                drone,
                distance_m,
                incident: incident.0,
                priority: *priority,
            },
            R::InsufficientBattery {
                needed_pct,
                available_pct,
            } => Rejection::InsufficientBattery {
                drone,
                distance_m,
                needed_pct: *needed_pct,
                available_pct: *available_pct,
            },
            R::NoRoute { error } => Rejection::NoRoute {
                drone,
                distance_m,
                error: error.into(),
            },
            R::NoReturnRoute { error } => Rejection::NoReturnRoute {
                drone,
                distance_m,
                error: error.into(),
            },
            R::WindLimit {
                wind_mps,
                gust_mps,
                from_deg,
                max_wind_mps,
                max_gust_mps,
                source,
                age_s,
            } => Rejection::WindLimit {
                drone,
                distance_m,
                wind_mps: *wind_mps,
                gust_mps: *gust_mps,
                from_deg: *from_deg,
                max_wind_mps: *max_wind_mps,
                max_gust_mps: *max_gust_mps,
                source: source.clone(),
                age_s: *age_s,
            },
            R::NoHeadway {
                wind_mps,
                from_deg,
                max_airspeed_mps,
            } => Rejection::NoHeadway {
                drone,
                distance_m,
                wind_mps: *wind_mps,
                from_deg: *from_deg,
                max_airspeed_mps: *max_airspeed_mps,
            },
        }
    }
}

impl From<&core_routing::RouteError> for RouteError {
    fn from(e: &core_routing::RouteError) -> Self {
        use core_routing::RouteError as E;
        match e {
            E::TargetInZone { zone, name } => RouteError::TargetInZone {
                zone: zone.0.clone(),
                name: name.clone(),
            },
            E::Unreachable { zones } => RouteError::Unreachable { zones: ids(zones) },
            E::OutsideRegion { position } => RouteError::OutsideRegion {
                position: (*position).into(),
            },
        }
    }
}

impl From<&[core::LatLon]> for LineString {
    fn from(points: &[core::LatLon]) -> Self {
        LineString {
            kind: LineStringType::LineString,
            coordinates: points.iter().map(|p| [p.lon, p.lat]).collect(),
        }
    }
}

impl From<&core_dispatch::Output> for DispatchOutput {
    fn from(o: &core_dispatch::Output) -> Self {
        use core_dispatch::Output as O;
        match o {
            O::Reported {
                incident,
                kind,
                priority,
            } => DispatchOutput::Reported {
                incident: incident.0,
                kind: (*kind).into(),
                priority: *priority,
            },
            O::Proposed {
                incident,
                assignment,
            } => DispatchOutput::Proposed {
                incident: incident.0,
                assignment: Box::new((&**assignment).into()),
            },
            O::Assigned {
                incident,
                assignment,
            } => DispatchOutput::Assigned {
                incident: incident.0,
                assignment: Box::new((&**assignment).into()),
            },
            O::Queued { incident, reason } => DispatchOutput::Queued {
                incident: incident.0,
                reason: reason.clone(),
            },
            O::Preempted { drone, from, to } => DispatchOutput::Preempted {
                drone: drone.0.clone(),
                from: from.0,
                to: to.0,
            },
            O::StatusChanged {
                incident,
                from,
                to,
                note,
            } => DispatchOutput::StatusChanged {
                incident: incident.0,
                from: (*from).into(),
                to: (*to).into(),
                note: note.clone(),
            },
            O::ZoneAdded { zone } => DispatchOutput::ZoneAdded {
                zone: zone.0.clone(),
            },
            O::ZoneRemoved { zone } => DispatchOutput::ZoneRemoved {
                zone: zone.0.clone(),
            },
            O::EtaChanged {
                incident,
                from,
                to,
                why,
            } => DispatchOutput::EtaChanged {
                incident: incident.0,
                from: *from,
                to: *to,
                why: why.clone(),
            },
            O::ZoneExpired { zone } => DispatchOutput::ZoneExpired {
                zone: zone.0.clone(),
            },
            O::Homeward {
                drone,
                incident,
                hold_s,
                conflict,
                note,
            } => DispatchOutput::Homeward {
                drone: drone.0.clone(),
                incident: incident.map(|i| i.0),
                hold_s: *hold_s,
                conflict: *conflict,
                note: note.clone(),
            },
        }
    }
}
